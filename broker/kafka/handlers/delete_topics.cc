// DeleteTopics: by name (v0-5) or by name or topic id (v6+). Each topic is marked in
// /admin/delete_topics, its logs removed and its znodes deleted (the topic registry's
// remove), with its own error code.
#include "broker/kafka/handlers/handler.h"
#include "runtime/sync.h"

namespace weir::broker {
namespace {

using kafka::DeleteTopicsRequest;
using kafka::DeleteTopicsResponse;
using kafka::ErrorCode;

DeleteTopicsResponse::DeletableTopicResult delete_one(BrokerCore& core,
                                                      std::optional<std::string> name,
                                                      const kafka::Uuid& id) {
  DeleteTopicsResponse::DeletableTopicResult r;
  r.topic_id = id;
  if (!name.has_value()) {
    for (const auto& [n, info] : core.metadata().topics()) {
      if (info.id.bytes == id.bytes) name = n;
    }
    if (!name.has_value()) {
      r.name = std::nullopt;
      r.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicId);
      r.error_message = "no topic has this id";
      return r;
    }
  }
  r.name = *name;
  if (const TopicMetadata* info = core.metadata().find(*name)) r.topic_id.bytes = info->id.bytes;
  if (!core.config.delete_topic_enable) {
    r.error_code = static_cast<int16_t>(ErrorCode::kTopicDeletionDisabled);
    r.error_message = "delete.topic.enable is false";
    return r;
  }
  const TopicError e = core.admin.remove(*name);
  r.error_code = static_cast<int16_t>(e.code);
  if (!e.ok()) r.error_message = e.message;
  return r;
}

// Kafka answers once the controller has carried the deletion out (or the timeout ends).
void await_deleted(BrokerCore& core, const DeleteTopicsResponse& rsp, int32_t timeout_ms) {
  const TimePoint deadline =
      Scheduler::current().now() +
      to_scheduler_duration(std::chrono::milliseconds(std::clamp(timeout_ms, 0, 60000)));
  MetadataCache& m = core.metadata();
  (void)wait_until(
      m.changed(),
      [&] {
        for (const auto& r : rsp.responses) {
          if (r.error_code == 0 && r.name.has_value() && m.find(*r.name) != nullptr) return false;
        }
        return true;
      },
      deadline);
}

}  // namespace

Future<framed::Reply> handle_delete_topics(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<DeleteTopicsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-delete-topics",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       DeleteTopicsResponse rsp;
                       if (request->version() >= 6) {
                         for (const auto& t : req->topics)
                           rsp.responses.push_back(delete_one(core, t.name, t.topic_id));
                       } else {
                         for (const auto& n : req->topic_names)
                           rsp.responses.push_back(delete_one(core, n, {}));
                       }
                       await_deleted(core, rsp, req->timeout_ms);
                       return respond(*request, rsp);
                     });
}

}  // namespace weir::broker
