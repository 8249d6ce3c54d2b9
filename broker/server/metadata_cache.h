// What this broker knows of the whole cluster, as the controller last told it with
// UpdateMetadata (Kafka's MetadataCache): the live brokers and their endpoints, every topic's
// partitions with leader, leader epoch, replicas and ISR, and who the controller is. Metadata
// requests are answered from it, so every broker answers alike once the controller's update
// has reached it. Updates from a controller older than the newest one seen are refused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/ids.h"
#include "broker/kafka/protocol/error_codes.h"
#include "broker/kafka/protocol/messages.h"
#include "broker/server/cluster_store.h"
#include "runtime/wait_list.h"

namespace weir::broker {

struct BrokerEndpoint {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  std::string rack;
  std::string address() const;  // host:port
};

struct PartitionMetadata {
  int32_t leader = -1;  // -1: offline
  LeaderEpoch leader_epoch{0};
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline_replicas;
};

struct TopicMetadata {
  std::string name;
  Uuid16 id;
  std::vector<PartitionMetadata> partitions;  // by index; a gap is a partition not yet known
};

class MetadataCache {
 public:
  // Applies an UpdateMetadata (any version): a snapshot of every partition, replacing what
  // the cache held. Refused (STALE_CONTROLLER_EPOCH) when it comes from a controller epoch
  // older than one already applied.
  kafka::ErrorCode apply(const kafka::UpdateMetadataRequest& update, int16_t version);

  const std::map<int32_t, BrokerEndpoint>& brokers() const { return brokers_; }
  const std::map<std::string, TopicMetadata>& topics() const { return topics_; }
  const TopicMetadata* find(const std::string& name) const;
  const BrokerEndpoint* broker(int32_t id) const;
  int32_t controller_id() const { return controller_id_; }
  ControllerEpoch controller_epoch() const { return controller_epoch_; }
  // True once every partition of `topic` has a leader (CreateTopics waits for it).
  bool has_leaders(const std::string& topic) const;
  // Fired after every applied update.
  WaitList& changed() { return changed_; }
  uint64_t generation() const { return generation_; }

 private:
  void apply_partition(const std::string& topic, const Uuid16& id, int32_t index,
                       PartitionMetadata partition, bool deleted);

  std::map<int32_t, BrokerEndpoint> brokers_;
  std::map<std::string, TopicMetadata> topics_;
  int32_t controller_id_ = -1;
  ControllerEpoch controller_epoch_{0};
  uint64_t generation_ = 0;
  WaitList changed_;
};

// Kafka's marker, in an UpdateMetadata partition state, for a partition being deleted.
inline constexpr int32_t kLeaderDuringDelete = -2;

}  // namespace weir::broker
