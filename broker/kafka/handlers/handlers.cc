// The one table from api key to handler.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

ApiHandler find_handler(kafka::ApiKey key) {
  using kafka::ApiKey;
  switch (key) {
    case ApiKey::kProduce:
      return handle_produce;
    case ApiKey::kFetch:
      return handle_fetch;
    case ApiKey::kListOffsets:
      return handle_list_offsets;
    case ApiKey::kMetadata:
      return handle_metadata;
    case ApiKey::kApiVersions:
      return handle_api_versions;
    case ApiKey::kCreateTopics:
      return handle_create_topics;
    case ApiKey::kDeleteTopics:
      return handle_delete_topics;
    case ApiKey::kDeleteRecords:
      return handle_delete_records;
    case ApiKey::kDescribeConfigs:
      return handle_describe_configs;
    case ApiKey::kCreatePartitions:
      return handle_create_partitions;
    case ApiKey::kDescribeCluster:
      return handle_describe_cluster;
    case ApiKey::kLeaderAndIsr:
      return handle_leader_and_isr;
    case ApiKey::kUpdateMetadata:
      return handle_update_metadata;
    case ApiKey::kStopReplica:
      return handle_stop_replica;
    case ApiKey::kControlledShutdown:
      return handle_controlled_shutdown;
    case ApiKey::kOffsetForLeaderEpoch:
      return handle_offset_for_leader_epoch;
    case ApiKey::kElectLeaders:
      return handle_elect_leaders;
    case ApiKey::kAlterPartitionReassignments:
      return handle_alter_partition_reassignments;
    case ApiKey::kListPartitionReassignments:
      return handle_list_partition_reassignments;
    case ApiKey::kOffsetCommit:
      return handle_offset_commit;
    case ApiKey::kOffsetFetch:
      return handle_offset_fetch;
    case ApiKey::kFindCoordinator:
      return handle_find_coordinator;
    case ApiKey::kJoinGroup:
      return handle_join_group;
    case ApiKey::kHeartbeat:
      return handle_heartbeat;
    case ApiKey::kLeaveGroup:
      return handle_leave_group;
    case ApiKey::kSyncGroup:
      return handle_sync_group;
    case ApiKey::kDescribeGroups:
      return handle_describe_groups;
    case ApiKey::kListGroups:
      return handle_list_groups;
    case ApiKey::kDeleteGroups:
      return handle_delete_groups;
    case ApiKey::kOffsetDelete:
      return handle_offset_delete;
    case ApiKey::kInitProducerId:
      return handle_init_producer_id;
  }
  return nullptr;
}

std::shared_ptr<Partition> leader_partition(BrokerCore& core, const std::string& topic,
                                            int32_t index, kafka::ErrorCode& error) {
  std::shared_ptr<Partition> p = core.replicas.partition(topic, index);
  if (p != nullptr && p->is_leader()) {
    error = kafka::ErrorCode::kNone;
    return p;
  }
  const TopicMetadata* t = core.metadata().find(topic);
  const bool known =
      (t != nullptr && index >= 0 && static_cast<size_t>(index) < t->partitions.size()) ||
      (p != nullptr && !p->closed());
  error =
      known ? kafka::ErrorCode::kNotLeaderOrFollower : kafka::ErrorCode::kUnknownTopicOrPartition;
  return nullptr;
}

kafka::ErrorCode check_leader_epoch(const Partition& partition, int32_t current_leader_epoch) {
  if (current_leader_epoch < 0) return kafka::ErrorCode::kNone;
  if (LeaderEpoch(current_leader_epoch) < partition.leader_epoch())
    return kafka::ErrorCode::kFencedLeaderEpoch;
  if (LeaderEpoch(current_leader_epoch) > partition.leader_epoch())
    return kafka::ErrorCode::kUnknownLeaderEpoch;
  return kafka::ErrorCode::kNone;
}

}  // namespace weir::broker
