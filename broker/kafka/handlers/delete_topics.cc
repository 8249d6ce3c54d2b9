// DeleteTopics: by name (v0-5) or by name or topic id (v6+). Each topic is marked in
// /admin/delete_topics, its logs removed and its znodes deleted (the topic registry's
// remove), with its own error code.
#include "broker/kafka/handlers/handler.h"

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
    for (const auto& [n, info] : core.topics.topics()) {
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
  if (const TopicInfo* info = core.topics.find(*name)) r.topic_id.bytes = info->id.bytes;
  if (!core.config.delete_topic_enable) {
    r.error_code = static_cast<int16_t>(ErrorCode::kTopicDeletionDisabled);
    r.error_message = "delete.topic.enable is false";
    return r;
  }
  const TopicError e = core.topics.remove(*name);
  r.error_code = static_cast<int16_t>(e.code);
  if (!e.ok()) r.error_message = e.message;
  return r;
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
                       return respond(*request, rsp);
                     });
}

}  // namespace weir::broker
