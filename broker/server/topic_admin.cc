#include "broker/server/topic_admin.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "broker/controller/assignment.h"
#include "broker/server/topic_name.h"
#include "coord/client/errors.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;

TopicError from_status(ErrorCode code, const absl::Status& s) {
  return {code, std::string(s.message())};
}

bool is_no_node(const absl::Status& s) {
  return coord::client::zk_error(s) == coord::client::ErrorCode::kNoNode;
}

}  // namespace

TopicAdmin::TopicAdmin(const BrokerConfig& config, ClusterStore& store, IRandom& random)
    : config_(config), store_(store), random_(random) {}

absl::StatusOr<std::vector<BrokerRegistration>> TopicAdmin::live_brokers() {
  auto ids = store_.list_brokers();
  if (!ids.ok()) return ids.status();
  std::vector<BrokerRegistration> out;
  for (int32_t id : *ids) {
    auto b = store_.get_broker(id);
    if (b.ok())
      out.push_back(*std::move(b));
    else if (!is_no_node(b.status()))
      return b.status();
  }
  return out;
}

TopicError TopicAdmin::validate_new(const std::string& name, int32_t partitions,
                                    const TopicOverrides& overrides) {
  if (auto s = validate_topic_name(name); !s.ok())
    return from_status(ErrorCode::kInvalidTopicException, s);
  auto existing = store_.list_topics();
  if (!existing.ok()) return from_status(ErrorCode::kUnknownServerError, existing.status());
  const std::string key = topic_collision_key(name);
  for (const std::string& other : *existing) {
    if (other == name) return {ErrorCode::kTopicAlreadyExists, "topic " + name + " already exists"};
    if (topic_collision_key(other) == key)
      return {ErrorCode::kInvalidTopicException, "topic " + name +
                                                     " collides with existing topic " + other +
                                                     " ('.' and '_' are the same in metric names)"};
  }
  if (partitions <= 0)
    return {ErrorCode::kInvalidPartitions, "number of partitions must be larger than 0"};
  if (partitions > 100000) return {ErrorCode::kInvalidPartitions, "too many partitions"};
  if (auto s = validate_topic_overrides(overrides); !s.ok())
    return from_status(ErrorCode::kInvalidConfig, s);
  return {};
}

TopicError TopicAdmin::validate_manual(const ReplicaAssignment& manual,
                                       const std::vector<BrokerRegistration>& live) const {
  std::set<int32_t> ids;
  for (const auto& b : live) ids.insert(b.id);
  size_t rf = 0;
  int32_t expected = 0;
  for (const auto& [p, replicas] : manual) {
    if (p != expected++ || replicas.empty() || (rf != 0 && replicas.size() != rf))
      return {ErrorCode::kInvalidReplicaAssignment,
              "partitions must be 0..n-1, each with the same number of replicas"};
    rf = replicas.size();
    std::set<int32_t> seen;
    for (int32_t b : replicas) {
      if (!seen.insert(b).second)
        return {ErrorCode::kInvalidReplicaAssignment,
                absl::StrCat("duplicate replica ", b, " in partition ", p)};
      if (ids.count(b) == 0)
        return {ErrorCode::kInvalidReplicaAssignment,
                absl::StrCat("replica assignment names broker ", b, ", which is not live")};
    }
  }
  return {};
}

TopicError TopicAdmin::create(const std::string& name, int32_t partitions,
                              int16_t replication_factor, const TopicOverrides& overrides,
                              bool validate_only, const std::optional<ReplicaAssignment>& manual) {
  if (manual.has_value()) partitions = static_cast<int32_t>(manual->size());
  if (partitions == -1) partitions = config_.num_partitions;
  if (replication_factor == -1) replication_factor = config_.default_replication_factor;
  ActorMutex::Guard locked(lock_);
  if (TopicError e = validate_new(name, partitions, overrides); !e.ok()) return e;
  auto live = live_brokers();
  if (!live.ok()) return from_status(ErrorCode::kUnknownServerError, live.status());
  TopicAssignment assignment{.topic_id = Uuid16::random(random_)};
  if (manual.has_value()) {
    if (TopicError e = validate_manual(*manual, *live); !e.ok()) return e;
    assignment.replicas = *manual;
  } else {
    std::vector<controller::AssignableBroker> brokers;
    for (const auto& b : *live) brokers.push_back({b.id, b.rack});
    const int32_t n = std::max<int32_t>(1, static_cast<int32_t>(brokers.size()));
    auto replicas = controller::assign_replicas(brokers, partitions, replication_factor, 0,
                                                static_cast<int32_t>(random_.below(n)),
                                                static_cast<int32_t>(random_.below(n)));
    if (!replicas.ok()) return from_status(ErrorCode::kInvalidReplicationFactor, replicas.status());
    assignment.replicas = *std::move(replicas);
  }
  if (validate_only) return {};
  if (auto s = store_.create_topic(name, assignment, overrides); !s.ok()) {
    if (coord::client::zk_error(s) == coord::client::ErrorCode::kNodeExists)
      return {ErrorCode::kTopicAlreadyExists, "topic " + name + " already exists"};
    return from_status(ErrorCode::kUnknownServerError, s);
  }
  TraceEvent(Severity::kInfo, "BrokerTopicCreated")
      .detail("Topic", name)
      .detail("Partitions", partitions)
      .detail("ReplicationFactor", replication_factor)
      .detail("TopicId", assignment.topic_id.to_base64());
  return {};
}

TopicError TopicAdmin::remove(const std::string& name) {
  ActorMutex::Guard locked(lock_);
  auto topic = store_.get_topic(name);
  if (!topic.ok()) {
    if (is_no_node(topic.status()))
      return {ErrorCode::kUnknownTopicOrPartition, "topic " + name + " does not exist"};
    return from_status(ErrorCode::kUnknownServerError, topic.status());
  }
  if (auto s = store_.mark_for_deletion(name); !s.ok())
    return from_status(ErrorCode::kUnknownServerError, s);
  TraceEvent(Severity::kInfo, "BrokerTopicMarkedForDeletion").detail("Topic", name);
  return {};
}

TopicError TopicAdmin::add_partitions(const std::string& name, int32_t count, bool validate_only) {
  ActorMutex::Guard locked(lock_);
  auto current = store_.get_topic_versioned(name);
  if (!current.ok()) {
    if (is_no_node(current.status()))
      return {ErrorCode::kUnknownTopicOrPartition, "topic " + name + " does not exist"};
    return from_status(ErrorCode::kUnknownServerError, current.status());
  }
  TopicAssignment assignment = current->first;
  const int32_t old_count = static_cast<int32_t>(assignment.replicas.size());
  if (count <= old_count)
    return {ErrorCode::kInvalidPartitions,
            absl::StrCat("topic currently has ", old_count, " partitions, ", count,
                         " would not be an increase")};
  if (count > 100000) return {ErrorCode::kInvalidPartitions, "too many partitions"};
  auto live = live_brokers();
  if (!live.ok()) return from_status(ErrorCode::kUnknownServerError, live.status());
  std::vector<controller::AssignableBroker> brokers;
  for (const auto& b : *live) brokers.push_back({b.id, b.rack});
  const int32_t rf = static_cast<int32_t>(assignment.replicas.begin()->second.size());
  const int32_t n = std::max<int32_t>(1, static_cast<int32_t>(brokers.size()));
  auto added = controller::assign_replicas(brokers, count - old_count, rf, old_count,
                                           static_cast<int32_t>(random_.below(n)),
                                           static_cast<int32_t>(random_.below(n)));
  if (!added.ok()) return from_status(ErrorCode::kInvalidReplicationFactor, added.status());
  if (validate_only) return {};
  for (auto& [p, r] : *added) assignment.replicas[p] = std::move(r);
  if (auto s = store_.add_partitions(name, assignment, current->second); !s.ok())
    return from_status(ErrorCode::kUnknownServerError, s);
  return {};
}

}  // namespace weir::broker
