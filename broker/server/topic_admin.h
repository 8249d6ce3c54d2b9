// CreateTopics, DeleteTopics and CreatePartitions as Kafka's AdminZkClient does them: each
// validated, then written to coord (the config and the replica assignment; a deletion marked
// in /admin/delete_topics), after which the controller, watching those znodes, creates the
// partitions' states, elects leaders and tells the brokers. Any broker may take these
// requests (Kafka in ZooKeeper mode sends them to the controller; writing the znodes from
// any broker is what its tools did before that).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/kafka/protocol/error_codes.h"
#include "broker/server/broker_config.h"
#include "broker/server/cluster_store.h"
#include "broker/server/metadata_cache.h"
#include "broker/server/topic_config.h"
#include "runtime/random.h"
#include "runtime/sync.h"

namespace weir::broker {

// A Kafka error code with its message, as CreateTopics and friends report per topic.
struct TopicError {
  kafka::ErrorCode code = kafka::ErrorCode::kNone;
  std::string message;
  bool ok() const { return code == kafka::ErrorCode::kNone; }
};

using ReplicaAssignment = std::map<int32_t, std::vector<int32_t>>;

class TopicAdmin {
 public:
  TopicAdmin(const BrokerConfig& config, ClusterStore& store, IRandom& random);

  // CreateTopics semantics. `partitions` / `replication_factor` of -1 take the broker's
  // defaults; `manual` is a request's own assignment. With validate_only nothing is written.
  TopicError create(const std::string& name, int32_t partitions, int16_t replication_factor,
                    const TopicOverrides& overrides, bool validate_only,
                    const std::optional<ReplicaAssignment>& manual = std::nullopt);
  TopicError remove(const std::string& name);
  TopicError add_partitions(const std::string& name, int32_t count, bool validate_only);

 private:
  absl::StatusOr<std::vector<BrokerRegistration>> live_brokers();
  TopicError validate_new(const std::string& name, int32_t partitions,
                          const TopicOverrides& overrides);
  TopicError validate_manual(const ReplicaAssignment& manual,
                             const std::vector<BrokerRegistration>& live) const;

  const BrokerConfig& config_;
  ClusterStore& store_;
  IRandom& random_;
  ActorMutex lock_;  // one admin change at a time from this broker
};

}  // namespace weir::broker
