#include "broker/server/topic_registry.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "broker/server/topic_name.h"
#include "coord/client/errors.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;

TopicError from_status(ErrorCode code, const absl::Status& s) {
  return {code, std::string(s.message())};
}

}  // namespace

TopicRegistry::TopicRegistry(const BrokerConfig& config, ClusterStore& store, log::LogManager& logs,
                             IRandom& random, int32_t broker_id, int32_t controller_epoch)
    : config_(config),
      store_(store),
      logs_(logs),
      random_(random),
      broker_id_(broker_id),
      controller_epoch_(controller_epoch) {}

const TopicInfo* TopicRegistry::find(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

std::shared_ptr<Partition> TopicRegistry::partition(const std::string& topic, int32_t index) const {
  const TopicInfo* t = find(topic);
  if (t == nullptr || index < 0 || static_cast<size_t>(index) >= t->partitions.size())
    return nullptr;
  return t->partitions[static_cast<size_t>(index)];
}

absl::Status TopicRegistry::open_partitions(TopicInfo& topic, int32_t from, int32_t to) {
  const log::LogConfig config = log_config_for(config_, topic.overrides);
  for (int32_t p = from; p < to; ++p) {
    auto log = logs_.create(log::TopicPartition{topic.name, p}, config);
    if (!log.ok()) return log.status();
    // A log found on disk at start was opened with the broker's defaults.
    if (auto s = (*log)->update_config(config); !s.ok()) return s;
    topic.partitions.push_back(
        std::make_shared<Partition>(topic.name, p, *log, LeaderEpoch(0), &appended_, &health_));
  }
  return absl::OkStatus();
}

absl::Status TopicRegistry::load() {
  ActorMutex::Guard locked(lock_);
  if (auto s = finish_pending_deletions(); !s.ok()) return s;
  auto names = store_.list_topics();
  if (!names.ok()) return names.status();
  std::set<std::string> known(names->begin(), names->end());
  // Logs of topics coord no longer has were deleted while this broker was away.
  for (const log::TopicPartition& tp : logs_.partitions()) {
    if (known.count(tp.topic) != 0) continue;
    TraceEvent(Severity::kWarnAlways, "BrokerStrayLogRemoved")
        .detail("Topic", tp.topic)
        .detail("Partition", tp.partition);
    if (auto s = logs_.remove(tp); !s.ok()) return s;
  }
  for (const std::string& name : known) {
    auto assignment = store_.get_topic(name);
    if (!assignment.ok()) return assignment.status();
    auto overrides = store_.get_topic_config(name);
    if (!overrides.ok()) return overrides.status();
    TopicInfo info{.name = name, .id = assignment->topic_id, .overrides = *std::move(overrides)};
    const int32_t count = static_cast<int32_t>(assignment->replicas.size());
    if (auto s = open_partitions(info, 0, count); !s.ok()) return s;
    topics_.emplace(name, std::move(info));
  }
  return absl::OkStatus();
}

TopicError TopicRegistry::validate_new(const std::string& name, int32_t partitions,
                                       int16_t replication_factor,
                                       const TopicOverrides& overrides) const {
  if (auto s = validate_topic_name(name); !s.ok())
    return from_status(ErrorCode::kInvalidTopicException, s);
  if (topics_.count(name) != 0)
    return {ErrorCode::kTopicAlreadyExists, "topic " + name + " already exists"};
  const std::string key = topic_collision_key(name);
  for (const auto& [existing, info] : topics_) {
    if (topic_collision_key(existing) == key)
      return {ErrorCode::kInvalidTopicException, "topic " + name +
                                                     " collides with existing topic " + existing +
                                                     " ('.' and '_' are the same in metric names)"};
  }
  if (partitions <= 0)
    return {ErrorCode::kInvalidPartitions, "number of partitions must be larger than 0"};
  if (partitions > 100000) return {ErrorCode::kInvalidPartitions, "too many partitions"};
  if (replication_factor <= 0)
    return {ErrorCode::kInvalidReplicationFactor, "replication factor must be larger than 0"};
  if (replication_factor > 1)
    return {ErrorCode::kInvalidReplicationFactor,
            absl::StrCat("replication factor: ", replication_factor,
                         " larger than available brokers: 1")};
  if (auto s = validate_topic_overrides(overrides); !s.ok())
    return from_status(ErrorCode::kInvalidConfig, s);
  return {};
}

TopicError TopicRegistry::create(const std::string& name, int32_t partitions,
                                 int16_t replication_factor, const TopicOverrides& overrides,
                                 bool validate_only) {
  if (partitions == -1) partitions = config_.num_partitions;
  if (replication_factor == -1) replication_factor = config_.default_replication_factor;
  ActorMutex::Guard locked(lock_);
  if (TopicError e = validate_new(name, partitions, replication_factor, overrides); !e.ok())
    return e;
  if (validate_only) return {};
  TopicAssignment assignment{.topic_id = Uuid16::random(random_)};
  for (int32_t p = 0; p < partitions; ++p) assignment.replicas[p] = {broker_id_};
  const PartitionState state{.leader = broker_id_,
                             .leader_epoch = 0,
                             .isr = {broker_id_},
                             .controller_epoch = controller_epoch_};
  if (auto s = store_.create_topic(name, assignment, overrides, state); !s.ok()) {
    if (coord::client::zk_error(s) == coord::client::ErrorCode::kNodeExists)
      return {ErrorCode::kTopicAlreadyExists, "topic " + name + " already exists"};
    return from_status(ErrorCode::kUnknownServerError, s);
  }
  TopicInfo info{.name = name, .id = assignment.topic_id, .overrides = overrides};
  if (auto s = open_partitions(info, 0, partitions); !s.ok())
    return from_status(ErrorCode::kKafkaStorageError, s);
  TraceEvent(Severity::kInfo, "BrokerTopicCreated")
      .detail("Topic", name)
      .detail("Partitions", partitions)
      .detail("TopicId", assignment.topic_id.to_base64());
  topics_.emplace(name, std::move(info));
  return {};
}

absl::Status TopicRegistry::remove_locked(const std::string& name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) {
    for (const auto& p : it->second.partitions) {
      p->mark_closed();
      if (auto s = logs_.remove(log::TopicPartition{name, p->index()}); !s.ok()) return s;
    }
    topics_.erase(it);
  } else {
    // Logs left by an earlier process whose deletion did not finish.
    for (const log::TopicPartition& tp : logs_.partitions()) {
      if (tp.topic != name) continue;
      if (auto s = logs_.remove(tp); !s.ok()) return s;
    }
  }
  if (auto s = store_.delete_topic(name); !s.ok()) return s;
  TraceEvent(Severity::kInfo, "BrokerTopicDeleted").detail("Topic", name);
  return absl::OkStatus();
}

TopicError TopicRegistry::remove(const std::string& name) {
  ActorMutex::Guard locked(lock_);
  if (topics_.count(name) == 0)
    return {ErrorCode::kUnknownTopicOrPartition, "topic " + name + " does not exist"};
  if (auto s = store_.mark_for_deletion(name); !s.ok())
    return from_status(ErrorCode::kUnknownServerError, s);
  if (auto s = remove_locked(name); !s.ok()) return from_status(ErrorCode::kKafkaStorageError, s);
  return {};
}

TopicError TopicRegistry::add_partitions(const std::string& name, int32_t count,
                                         bool validate_only) {
  ActorMutex::Guard locked(lock_);
  auto it = topics_.find(name);
  if (it == topics_.end())
    return {ErrorCode::kUnknownTopicOrPartition, "topic " + name + " does not exist"};
  TopicInfo& info = it->second;
  const int32_t old_count = static_cast<int32_t>(info.partitions.size());
  if (count <= old_count)
    return {ErrorCode::kInvalidPartitions,
            absl::StrCat("topic currently has ", old_count, " partitions, ", count,
                         " would not be an increase")};
  if (count > 100000) return {ErrorCode::kInvalidPartitions, "too many partitions"};
  if (validate_only) return {};
  TopicAssignment assignment{.topic_id = info.id};
  for (int32_t p = 0; p < count; ++p) assignment.replicas[p] = {broker_id_};
  const PartitionState state{.leader = broker_id_,
                             .leader_epoch = 0,
                             .isr = {broker_id_},
                             .controller_epoch = controller_epoch_};
  if (auto s = store_.add_partitions(name, assignment, old_count, state); !s.ok())
    return from_status(ErrorCode::kUnknownServerError, s);
  if (auto s = open_partitions(info, old_count, count); !s.ok())
    return from_status(ErrorCode::kKafkaStorageError, s);
  return {};
}

absl::Status TopicRegistry::finish_pending_deletions() {
  auto pending = store_.pending_deletions();
  if (!pending.ok()) return pending.status();
  for (const std::string& name : *pending) {
    if (auto s = remove_locked(name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void TopicRegistry::close_all() {
  for (auto& [name, topic] : topics_) {
    for (auto& p : topic.partitions) p->mark_closed();
  }
}

}  // namespace weir::broker
