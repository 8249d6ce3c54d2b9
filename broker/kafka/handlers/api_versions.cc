// ApiVersions: the versions of every API this broker serves (those of Kafka 3.0.0, see
// broker/kafka/protocol/README.md). A client asking with a version newer than ours gets a v0
// answer with UNSUPPORTED_VERSION and the list, so it can retry with the newest it shares.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

kafka::ApiVersionsResponse versions_response() {
  kafka::ApiVersionsResponse rsp;
  for (const kafka::ApiInfo& api : kafka::kApis) {
    if (find_handler(api.key) == nullptr) continue;
    rsp.api_keys.push_back({.api_key = static_cast<int16_t>(api.key),
                            .min_version = api.min_version,
                            .max_version = api.max_version});
  }
  return rsp;
}

}  // namespace

framed::Reply unsupported_api_versions_reply(const kafka::RequestHeader& header) {
  kafka::ApiVersionsResponse rsp = versions_response();
  rsp.error_code = static_cast<int16_t>(kafka::ErrorCode::kUnsupportedVersion);
  framed::Reply reply;
  kafka::append_response_frame(rsp, 0, header.correlation_id, reply.bytes);
  return reply;
}

Future<framed::Reply> handle_api_versions(BrokerCore&, RequestPtr request) {
  kafka::ApiVersionsRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) {
    // Kafka answers an undecodable ApiVersions with INVALID_REQUEST rather than closing: it is
    // the first request of every connection, and the client needs to know why.
    kafka::ApiVersionsResponse rsp;
    rsp.error_code = static_cast<int16_t>(kafka::ErrorCode::kInvalidRequest);
    return respond_now(*request, rsp);
  }
  return respond_now(*request, versions_response());
}

}  // namespace weir::broker
