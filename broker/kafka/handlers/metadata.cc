// Metadata: the brokers, the cluster id, the controller and the requested topics (all of them
// for a null list, or an empty one before v1) with each partition's leader, replicas and ISR.
// A topic that does not exist is created when the request allows it (v4+, always before) and
// auto.create.topics.enable is set, as Kafka does; that answer says LEADER_NOT_AVAILABLE, the
// next describes it.
#include "broker/kafka/handlers/handler.h"
#include "broker/server/topic_name.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::MetadataRequest;
using kafka::MetadataResponse;

kafka::Uuid to_wire(const Uuid16& id) {
  kafka::Uuid out;
  out.bytes = id.bytes;
  return out;
}

MetadataResponse::MetadataResponseTopic describe(const TopicMetadata& topic) {
  MetadataResponse::MetadataResponseTopic t;
  t.name = topic.name;
  t.topic_id = to_wire(topic.id);
  t.is_internal = is_internal_topic(topic.name);
  for (size_t i = 0; i < topic.partitions.size(); ++i) {
    const PartitionMetadata& p = topic.partitions[i];
    MetadataResponse::MetadataResponsePartition mp;
    mp.partition_index = static_cast<int32_t>(i);
    mp.leader_id = p.leader;
    mp.leader_epoch = p.leader_epoch.value();
    mp.replica_nodes = p.replicas;
    mp.isr_nodes = p.isr;
    mp.offline_replicas = p.offline_replicas;
    if (p.leader < 0) mp.error_code = static_cast<int16_t>(ErrorCode::kLeaderNotAvailable);
    t.partitions.push_back(std::move(mp));
  }
  return t;
}

MetadataResponse::MetadataResponseTopic missing(const std::string& name, ErrorCode code) {
  MetadataResponse::MetadataResponseTopic t;
  t.name = name;
  t.error_code = static_cast<int16_t>(code);
  return t;
}

const TopicMetadata* find_by_id(const MetadataCache& cache, const kafka::Uuid& id) {
  for (const auto& [name, topic] : cache.topics()) {
    if (topic.id.bytes == id.bytes) return &topic;
  }
  return nullptr;
}

void add_brokers(BrokerCore& core, MetadataResponse& rsp) {
  for (const auto& [id, b] : core.metadata().brokers()) {
    rsp.brokers.push_back(
        {.node_id = id,
         .host = b.host,
         .port = b.port,
         .rack = b.rack.empty() ? std::nullopt : std::optional<std::string>(b.rack)});
  }
  if (!rsp.brokers.empty()) return;
  // Before the controller's first UpdateMetadata: this broker, so a client can come back.
  rsp.brokers.push_back({.node_id = core.broker_id,
                         .host = core.advertised_host,
                         .port = core.advertised_port,
                         .rack = core.config.broker_rack.empty()
                                     ? std::nullopt
                                     : std::optional<std::string>(core.config.broker_rack)});
}

// Builds the answer; `create` is false when the caller must not suspend (then any topic that
// needs creating makes it return nullopt, and the caller retries in an actor).
std::optional<MetadataResponse> answer(BrokerCore& core, const MetadataRequest& req,
                                       int16_t version, bool create) {
  MetadataResponse rsp;
  const MetadataCache& cache = core.metadata();
  add_brokers(core, rsp);
  rsp.cluster_id = core.cluster_id;
  rsp.controller_id = cache.controller_id();
  const bool all = !req.topics.has_value() || (version == 0 && req.topics->empty());
  if (all) {
    for (const auto& [name, topic] : cache.topics()) rsp.topics.push_back(describe(topic));
    return rsp;
  }
  const bool auto_create =
      core.config.auto_create_topics_enable && (version < 4 || req.allow_auto_topic_creation);
  for (const auto& wanted : *req.topics) {
    if (!wanted.name.has_value()) {
      const TopicMetadata* t = find_by_id(cache, wanted.topic_id);
      rsp.topics.push_back(t != nullptr ? describe(*t) : missing("", ErrorCode::kUnknownTopicId));
      continue;
    }
    const std::string& name = *wanted.name;
    if (const TopicMetadata* t = cache.find(name)) {
      rsp.topics.push_back(describe(*t));
      continue;
    }
    if (!validate_topic_name(name).ok()) {
      rsp.topics.push_back(missing(name, ErrorCode::kInvalidTopicException));
      continue;
    }
    if (!auto_create) {
      rsp.topics.push_back(missing(name, ErrorCode::kUnknownTopicOrPartition));
      continue;
    }
    if (!create) return std::nullopt;
    // As Kafka: the request that creates a topic hears LEADER_NOT_AVAILABLE (its leaders are
    // being elected) and asks again; clients and some tests rely on that answer.
    const TopicError e = core.admin.create(name, -1, -1, {}, false);
    const bool pending = e.ok() || e.code == ErrorCode::kTopicAlreadyExists;
    rsp.topics.push_back(missing(name, pending ? ErrorCode::kLeaderNotAvailable : e.code));
  }
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_metadata(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<MetadataRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  if (auto rsp = answer(core, *req, request->version(), false)) return respond_now(*request, *rsp);
  return run_request(core, "kafka-metadata",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return respond(*request, *answer(core, *req, request->version(), true));
                     });
}

}  // namespace weir::broker
