// CreateTopics: each topic validated (name, partitions, replication factor, config keys and
// values) and written to coord (TopicAdmin), with its own error code and message; the answer
// waits (up to the request's timeout) until the controller has elected every partition's
// leader and this broker's metadata shows them, as Kafka's does. A name given twice in one request
// is refused for both, as Kafka. From v5 the answer carries the topic's partitions, replication
// factor and configs.
#include <set>

#include "broker/kafka/handlers/handler.h"
#include "runtime/sync.h"

namespace weir::broker {
namespace {

using kafka::CreateTopicsRequest;
using kafka::CreateTopicsResponse;
using kafka::ErrorCode;

TopicError create_one(BrokerCore& core, const CreateTopicsRequest::CreatableTopic& t,
                      bool validate_only) {
  TopicOverrides overrides;
  for (const auto& c : t.configs) {
    if (!c.value.has_value())
      return {ErrorCode::kInvalidConfig, "config " + c.name + " has a null value"};
    overrides[c.name] = *c.value;
  }
  std::optional<ReplicaAssignment> manual;
  if (!t.assignments.empty()) {
    if (t.num_partitions != -1 || t.replication_factor != -1)
      return {ErrorCode::kInvalidRequest,
              "both a replica assignment and numPartitions/replicationFactor were given"};
    manual.emplace();
    for (const auto& a : t.assignments) (*manual)[a.partition_index] = a.broker_ids;
    if (manual->size() != t.assignments.size())
      return {ErrorCode::kInvalidReplicaAssignment, "a partition is assigned twice"};
  }
  return core.admin.create(t.name, t.num_partitions, t.replication_factor, overrides, validate_only,
                           manual);
}

void describe_result(BrokerCore& core, const std::string& name,
                     CreateTopicsResponse::CreatableTopicResult& r) {
  const TopicMetadata* info = core.metadata().find(name);
  if (info == nullptr) return;
  r.topic_id.bytes = info->id.bytes;
  r.num_partitions = static_cast<int32_t>(info->partitions.size());
  r.replication_factor = info->partitions.empty()
                             ? -1
                             : static_cast<int16_t>(info->partitions.front().replicas.size());
  auto overrides = core.store.get_topic_config(name);
  if (!overrides.ok()) return;
  std::vector<CreateTopicsResponse::CreatableTopicConfigs> configs;
  for (const TopicConfigEntry& e : describe_topic_config(core.config, *overrides)) {
    configs.push_back({.name = e.name,
                       .value = e.value,
                       .read_only = e.read_only,
                       .config_source = static_cast<int8_t>(e.source),
                       .is_sensitive = false});
  }
  r.configs = std::move(configs);
}

// Until every created topic has its leaders in this broker's metadata, or the timeout.
void await_leaders(BrokerCore& core, const CreateTopicsResponse& rsp, int32_t timeout_ms) {
  const TimePoint deadline =
      Scheduler::current().now() +
      to_scheduler_duration(std::chrono::milliseconds(std::clamp(timeout_ms, 0, 60000)));
  MetadataCache& m = core.metadata();
  (void)wait_until(
      m.changed(),
      [&] {
        for (const auto& r : rsp.topics) {
          if (r.error_code == 0 && !m.has_leaders(r.name)) return false;
        }
        return true;
      },
      deadline);
}

absl::StatusOr<framed::Reply> create_topics(BrokerCore& core, const Request& request,
                                            const CreateTopicsRequest& req) {
  std::map<std::string, int> seen;
  for (const auto& t : req.topics) ++seen[t.name];
  CreateTopicsResponse rsp;
  for (const auto& t : req.topics) {
    auto& r = rsp.topics.emplace_back();
    r.name = t.name;
    TopicError e;
    if (seen[t.name] > 1) {
      e = {ErrorCode::kInvalidRequest, "topic " + t.name + " appears more than once"};
    } else {
      e = create_one(core, t, req.validate_only);
    }
    r.error_code = static_cast<int16_t>(e.code);
    r.error_message = e.ok() ? std::nullopt : std::optional<std::string>(e.message);
    if (!e.ok()) {
      r.configs = std::nullopt;
      r.topic_config_error_code = static_cast<int16_t>(e.code);
    }
  }
  if (!req.validate_only) {
    await_leaders(core, rsp, req.timeout_ms);
    for (auto& r : rsp.topics) {
      if (r.error_code != 0) continue;
      if (req.timeout_ms > 0 && !core.metadata().has_leaders(r.name)) {
        r.error_code = static_cast<int16_t>(ErrorCode::kRequestTimedOut);
        r.error_message = "the topic was created; its leaders were not elected within the timeout";
        continue;
      }
      describe_result(core, r.name, r);
    }
  }
  return respond(request, rsp);
}

}  // namespace

Future<framed::Reply> handle_create_topics(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<CreateTopicsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-create-topics",
                     [&core, request, req]() { return create_topics(core, *request, *req); });
}

}  // namespace weir::broker
