#include "broker/server/kafka_listener.h"

#include "absl/strings/str_cat.h"
#include "broker/kafka/handlers/handler.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

Future<framed::Reply> refuse(BrokerCore& core, const framed::FramedConnection& connection,
                             std::string_view why) {
  ++core.counters.request_errors;
  TraceEvent(Severity::kWarn, "KafkaRequestRefused")
      .detail("Peer", connection.peer())
      .detail("Reason", why);
  return Future<framed::Reply>::ready(absl::InvalidArgumentError(std::string(why)));
}

}  // namespace

framed::FramedServerOptions KafkaListener::server_options(const BrokerConfig& config) {
  framed::FramedServerOptions o;
  o.name = "kafka";
  o.protocol = "kafka";
  o.frame_bytes_max = static_cast<size_t>(config.socket_request_max_bytes);
  o.connections_max = static_cast<size_t>(config.connections_max);
  o.in_flight_max = static_cast<size_t>(config.request_in_flight_max);
  if (config.connections_max_idle_ms > 0)
    o.idle_timeout = std::chrono::milliseconds(config.connections_max_idle_ms);
  return o;
}

Future<framed::Reply> KafkaListener::on_frame(framed::FramedConnection& connection,
                                              std::string_view frame) {
  ++core_.counters.requests;
  auto request = std::make_shared<Request>();
  std::string_view body;
  if (auto s = kafka::decode_request_header(frame, request->header, body); !s.ok())
    return refuse(core_, connection, std::string(s.message()));
  const kafka::RequestHeader& h = request->header;
  const auto key = kafka::api_key_from_int(h.request_api_key);
  const kafka::ApiInfo* api = key ? kafka::find_api(*key) : nullptr;
  ApiHandler handler = key ? find_handler(*key) : nullptr;
  if (api == nullptr || handler == nullptr)
    return refuse(core_, connection, absl::StrCat("api key ", h.request_api_key, " not served"));
  if (h.request_api_version < api->min_version || h.request_api_version > api->max_version) {
    if (*key == kafka::ApiKey::kApiVersions)
      return Future<framed::Reply>::ready(unsupported_api_versions_reply(h));
    return refuse(core_, connection,
                  absl::StrCat(std::string(api->name), " v", h.request_api_version, " not served (",
                               api->min_version, "-", api->max_version, ")"));
  }
  request->frame.assign(frame.data(), frame.size());
  request->body_offset = frame.size() - body.size();
  request->peer = connection.peer();
  return handler(core_, std::move(request));
}

}  // namespace weir::broker
