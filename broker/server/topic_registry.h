// The topics and partitions this broker knows, and the one place that changes them. It keeps
// coord (Kafka's znodes, what every broker and operator sees) and the local logs in step:
// a topic is created in coord first (one multi: config, assignment, partition states), then
// its logs are opened; a deletion is marked in /admin/delete_topics, the logs removed, then
// the znodes. On start, load() reconciles the two: logs of topics coord no longer has are
// deleted, partitions coord assigns here get their logs, pending deletions are finished.
// Mutations are serialized (an ActorMutex), so a CreateTopics racing an auto-creation on
// Metadata yields one topic and one TOPIC_ALREADY_EXISTS, never two sets of logs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/kafka/protocol/error_codes.h"
#include "broker/log/log_manager.h"
#include "broker/server/broker_config.h"
#include "broker/server/cluster_store.h"
#include "broker/server/partition.h"
#include "broker/server/topic_config.h"
#include "runtime/sync.h"
#include "runtime/wait_list.h"

namespace weir::broker {

struct TopicInfo {
  std::string name;
  Uuid16 id;
  TopicOverrides overrides;
  std::vector<std::shared_ptr<Partition>> partitions;  // by index
};

// A Kafka error code with its message, as CreateTopics and friends report per topic.
struct TopicError {
  kafka::ErrorCode code = kafka::ErrorCode::kNone;
  std::string message;
  bool ok() const { return code == kafka::ErrorCode::kNone; }
};

class TopicRegistry {
 public:
  TopicRegistry(const BrokerConfig& config, ClusterStore& store, log::LogManager& logs,
                IRandom& random, int32_t broker_id, int32_t controller_epoch);

  // Reconciles coord's topics with the local logs (see the class comment).
  absl::Status load();

  const TopicInfo* find(const std::string& name) const;
  std::shared_ptr<Partition> partition(const std::string& topic, int32_t index) const;
  const std::map<std::string, TopicInfo>& topics() const { return topics_; }
  // Fired on every append to any partition: fetch long polls wait on it.
  AppendSignal& appended() { return appended_; }
  StorageHealth& health() { return health_; }

  // CreateTopics semantics. `partitions` / `replication_factor` of -1 take the broker's
  // defaults. With validate_only nothing is changed.
  TopicError create(const std::string& name, int32_t partitions, int16_t replication_factor,
                    const TopicOverrides& overrides, bool validate_only);
  // DeleteTopics semantics.
  TopicError remove(const std::string& name);
  // CreatePartitions semantics: the topic grows to `count` partitions.
  TopicError add_partitions(const std::string& name, int32_t count, bool validate_only);
  // Stops using every partition (shutdown): later requests see them closed.
  void close_all();

 private:
  // Finishes deletions recorded in /admin/delete_topics (also those of an earlier process).
  // Called with lock_ held.
  absl::Status finish_pending_deletions();
  TopicError validate_new(const std::string& name, int32_t partitions, int16_t replication_factor,
                          const TopicOverrides& overrides) const;
  absl::Status open_partitions(TopicInfo& topic, int32_t from, int32_t to);
  absl::Status remove_locked(const std::string& name);

  const BrokerConfig& config_;
  ClusterStore& store_;
  log::LogManager& logs_;
  IRandom& random_;
  int32_t broker_id_;
  int32_t controller_epoch_;
  ActorMutex lock_;
  std::map<std::string, TopicInfo> topics_;
  AppendSignal appended_;
  StorageHealth health_;
};

}  // namespace weir::broker
