// The group coordinator's log on this broker: the partitions of __consumer_offsets it leads.
// An append is one batch, accepted only while this broker leads the partition at the epoch the
// coordinator loaded it at, and answered once the partition's high watermark passes it (with
// offsets.commit.required.acks -1, Kafka's default) or once appended (1); replay reads the
// partition's whole log. It exists apart from the coordinator so that the coordinator is tested
// on a log in memory and runs here on the replicated one.
#pragma once

#include "broker/group/group_coordinator.h"
#include "broker/server/broker_config.h"
#include "broker/server/replica_manager.h"

namespace weir::broker {

class PartitionGroupLog : public group::GroupLog {
 public:
  PartitionGroupLog(const BrokerConfig& config, ReplicaManager& replicas, IClock& clock)
      : config_(config), replicas_(replicas), clock_(clock) {}

  absl::StatusOr<int64_t> append(int32_t partition, LeaderEpoch epoch,
                                 const std::vector<group::LogRecord>& records,
                                 kafka::ErrorCode& error) override;
  absl::Status replay(int32_t partition,
                      const std::function<void(int64_t, std::string_view,
                                               std::optional<std::string_view>)>& fn) override;

 private:
  kafka::ErrorCode await_commit(Partition& p, LeaderEpoch epoch, Offset end);

  const BrokerConfig& config_;
  ReplicaManager& replicas_;
  IClock& clock_;
};

}  // namespace weir::broker
