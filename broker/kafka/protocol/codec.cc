#include "broker/kafka/protocol/codec.h"

namespace weir::kafka {

absl::Status decode_request_header(std::string_view frame, RequestHeader& header,
                                   std::string_view& body) {
  // The api key and version lead every header version; they decide how the rest is read.
  ByteReader peek(frame, "kafka");
  const int16_t key = peek.read_i16("request_api_key");
  const int16_t version = peek.read_i16("request_api_version");
  if (!peek.ok()) {
    peek.add_context(RequestHeader::kName);
    return peek.status();
  }
  ByteReader r(frame, "kafka");
  header.decode(r, request_header_version(static_cast<ApiKey>(key), version));
  if (!r.ok()) {
    r.add_context(RequestHeader::kName);
    return r.status();
  }
  body = r.rest();
  return absl::OkStatus();
}

}  // namespace weir::kafka
