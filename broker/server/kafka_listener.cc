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

// An ApiVersions newer than ours may come with a header (and body) we cannot parse: the client
// is probing. Kafka answers it from the correlation id alone, so do we.
std::optional<framed::Reply> answer_newer_api_versions(std::string_view frame) {
  ByteReader r(frame, "kafka");
  const int16_t key = r.read_i16("request_api_key");
  const int16_t version = r.read_i16("request_api_version");
  kafka::RequestHeader header;
  header.correlation_id = r.read_i32("correlation_id");
  const kafka::ApiInfo* api = kafka::find_api(kafka::ApiKey::kApiVersions);
  if (!r.ok() || key != static_cast<int16_t>(kafka::ApiKey::kApiVersions) ||
      version <= api->max_version)
    return std::nullopt;
  return unsupported_api_versions_reply(header);
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
  if (auto reply = answer_newer_api_versions(frame)) return Future<framed::Reply>::ready(*reply);
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
    return refuse(core_, connection,
                  absl::StrCat(std::string(api->name), " v", h.request_api_version, " not served (",
                               api->min_version, "-", api->max_version, ")"));
  }
  request->frame.assign(frame.data(), frame.size());
  request->body_offset = frame.size() - body.size();
  request->peer = connection.peer();
  return handler(core_, std::move(request));
}

void KafkaListener::on_close(framed::FramedConnection& connection) {
  core_.groups.on_connection_closed(connection.peer());
}

}  // namespace weir::broker
