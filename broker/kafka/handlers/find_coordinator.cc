// FindCoordinator: the broker leading the __consumer_offsets partition of a group. The first
// request of a cluster creates that topic (offsets.topic.num.partitions, with
// offsets.topic.replication.factor replicas, refused until that many brokers are live, as
// Kafka) and hears COORDINATOR_NOT_AVAILABLE until its leaders are elected.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::FindCoordinatorRequest;
using kafka::FindCoordinatorResponse;

struct Found {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

// Kafka's internal topic settings: compacted (the latest commit of each group and partition and
// the latest metadata of each group stay; nothing goes by time, so a live group's offsets never
// vanish: offsets.retention.minutes writes their tombstones), segments of
// offsets.topic.segment.bytes.
TopicOverrides offsets_topic_overrides(const BrokerConfig& config) {
  return {{"cleanup.policy", "compact"},
          {"segment.bytes", std::to_string(config.offsets_topic_segment_bytes)},
          {"compression.type", "producer"}};
}

void ensure_offsets_topic(BrokerCore& core) {
  if (core.metadata().find(group::kOffsetsTopic) != nullptr) return;
  const TopicError e =
      core.admin.create(group::kOffsetsTopic, core.config.offsets_topic_num_partitions,
                        static_cast<int16_t>(core.config.offsets_topic_replication_factor),
                        offsets_topic_overrides(core.config), false);
  if (!e.ok() && e.code != ErrorCode::kTopicAlreadyExists) {
    TraceEvent(Severity::kWarn, "OffsetsTopicNotCreated")
        .detail("Error", kafka::error_name(e.code))
        .detail("Message", e.message);
  }
}

Found find(BrokerCore& core, const std::string& key, int8_t key_type) {
  Found f;
  auto fail = [&](ErrorCode e, std::string message) {
    f.error = e;
    f.message = std::move(message);
    return f;
  };
  if (key_type != 0)
    return fail(ErrorCode::kTransactionalIdAuthorizationFailed, "transactions are not served");
  if (key.empty()) return fail(ErrorCode::kInvalidRequest, "empty group id");
  const TopicMetadata* topic = core.metadata().find(group::kOffsetsTopic);
  if (topic == nullptr || topic->partitions.empty())
    return fail(ErrorCode::kCoordinatorNotAvailable, "the offsets topic is being created");
  const int32_t p = group::partition_for_group(key, static_cast<int32_t>(topic->partitions.size()));
  const int32_t leader = topic->partitions[static_cast<size_t>(p)].leader;
  const BrokerEndpoint* b = leader >= 0 ? core.metadata().broker(leader) : nullptr;
  if (b == nullptr) return fail(ErrorCode::kCoordinatorNotAvailable, "no leader yet");
  f.node_id = leader;
  f.host = b->host;
  f.port = b->port;
  return f;
}

FindCoordinatorResponse answer(BrokerCore& core, const FindCoordinatorRequest& req,
                               int16_t version) {
  ensure_offsets_topic(core);
  FindCoordinatorResponse rsp;
  if (version >= 4) {
    for (const std::string& key : req.coordinator_keys) {
      Found f = find(core, key, req.key_type);
      rsp.coordinators.push_back({.key = key,
                                  .node_id = f.node_id,
                                  .host = f.host,
                                  .port = f.port,
                                  .error_code = static_cast<int16_t>(f.error),
                                  .error_message = f.message});
    }
    return rsp;
  }
  Found f = find(core, req.key, req.key_type);
  rsp.error_code = static_cast<int16_t>(f.error);
  rsp.error_message = f.message;
  rsp.node_id = f.node_id;
  rsp.host = f.host;
  rsp.port = f.port;
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_find_coordinator(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<FindCoordinatorRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-find-coordinator",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return respond(*request, answer(core, *req, request->version()));
                     });
}

}  // namespace weir::broker
