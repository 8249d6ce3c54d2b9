// CreateTopics: each topic validated (name, partitions, replication factor, config keys and
// values) and created through the topic registry (coord first, then the logs), with its own
// error code and message. A name given twice in one request is refused for both, as Kafka.
// From v5 the answer carries the topic's partitions, replication factor and configs.
#include <set>

#include "broker/kafka/handlers/handler.h"

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
  int32_t partitions = t.num_partitions;
  int16_t replication = t.replication_factor;
  if (!t.assignments.empty()) {
    if (partitions != -1 || replication != -1)
      return {ErrorCode::kInvalidRequest,
              "both a replica assignment and numPartitions/replicationFactor were given"};
    partitions = static_cast<int32_t>(t.assignments.size());
    replication = static_cast<int16_t>(t.assignments.front().broker_ids.size());
    for (size_t i = 0; i < t.assignments.size(); ++i) {
      const auto& a = t.assignments[i];
      if (a.partition_index != static_cast<int32_t>(i) ||
          a.broker_ids.size() != static_cast<size_t>(replication))
        return {ErrorCode::kInvalidReplicaAssignment,
                "partitions must be 0..n-1, each with the "
                "same number of replicas"};
      for (int32_t b : a.broker_ids) {
        if (b != core.broker_id)
          return {ErrorCode::kInvalidReplicaAssignment,
                  "replica assignment names broker " + std::to_string(b) + ", which is not live"};
      }
    }
  }
  return core.topics.create(t.name, partitions, replication, overrides, validate_only);
}

void describe_result(BrokerCore& core, const std::string& name,
                     CreateTopicsResponse::CreatableTopicResult& r) {
  const TopicInfo* info = core.topics.find(name);
  if (info == nullptr) return;
  r.topic_id.bytes = info->id.bytes;
  r.num_partitions = static_cast<int32_t>(info->partitions.size());
  r.replication_factor = 1;
  std::vector<CreateTopicsResponse::CreatableTopicConfigs> configs;
  for (const TopicConfigEntry& e : describe_topic_config(core.config, info->overrides)) {
    configs.push_back({.name = e.name,
                       .value = e.value,
                       .read_only = e.read_only,
                       .config_source = static_cast<int8_t>(e.source),
                       .is_sensitive = false});
  }
  r.configs = std::move(configs);
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
    } else if (!req.validate_only) {
      describe_result(core, t.name, r);
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
