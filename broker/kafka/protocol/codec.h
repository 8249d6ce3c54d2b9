// One-call decoding and encoding of whole Kafka messages and frames, over the generated structs
// of messages.h: what the broker's connection loop and Weir's own clients call, so that neither
// handles a ByteReader, a header version or a size prefix by hand.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "broker/kafka/protocol/messages.h"
#include "runtime/bytes/byte_reader.h"
#include "runtime/bytes/byte_writer.h"

namespace weir::kafka {

// Decodes `bytes` as exactly one T at `version`: a version outside T's range, a malformed field
// (named by its path: "kafka: ProduceRequest: topic_data[0]: partition_data[1]: records: ...")
// or trailing bytes are errors. `out` views `bytes` in its Records fields.
template <class T>
absl::Status decode_message(std::string_view bytes, int16_t version, T& out) {
  ByteReader r(bytes, "kafka");
  out.decode(r, version);
  r.add_context(T::kName);
  return r.finish(T::kName);
}

// The decoded message may view its input (Records): a temporary string would die first.
template <class T, class S>
requires std::same_as<S, std::string> absl::Status decode_message(S&& bytes, int16_t version,
                                                                  T& out)
= delete;

// Appends T at `version`, reserving exactly once.
template <class T>
void encode_message_append(const T& value, int16_t version, std::string& out) {
  out.reserve(out.size() + value.encoded_size(version));
  ByteWriter w(out);
  value.encode(w, version);
}

template <class T>
std::string encode_message(const T& value, int16_t version) {
  std::string out;
  encode_message_append(value, version, out);
  return out;
}

// Reads the header at the front of a request frame (the frame without its 4-byte size). The
// header's version follows from the api key and version it starts with (a key Weir does not
// serve is read as header v1), so a request Weir will refuse still yields its correlation id.
// On success `body` is the rest of the frame.
absl::Status decode_request_header(std::string_view frame, RequestHeader& header,
                                   std::string_view& body);

// Appends a whole request as a client sends it: a 4-byte size, the header at the version the
// api and version call for, and the body.
template <class T>
void append_request_frame(const T& body, int16_t version, int32_t correlation_id,
                          const std::optional<std::string>& client_id, std::string& out) {
  RequestHeader header;
  header.request_api_key = static_cast<int16_t>(T::kApiKey);
  header.request_api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = client_id;
  const int16_t header_version = request_header_version(T::kApiKey, version);
  const size_t size = header.encoded_size(header_version) + body.encoded_size(version);
  out.reserve(out.size() + 4 + size);
  ByteWriter w(out);
  w.write_u32(static_cast<uint32_t>(size));
  header.encode(w, header_version);
  body.encode(w, version);
}

// Appends a whole response: a 4-byte size, the header at the version the api and version call
// for, and the body.
template <class T>
void append_response_frame(const T& body, int16_t version, int32_t correlation_id,
                           std::string& out) {
  const ResponseHeader header{.correlation_id = correlation_id};
  const int16_t header_version = response_header_version(T::kApiKey, version);
  const size_t size = header.encoded_size(header_version) + body.encoded_size(version);
  out.reserve(out.size() + 4 + size);
  ByteWriter w(out);
  w.write_u32(static_cast<uint32_t>(size));
  header.encode(w, header_version);
  body.encode(w, version);
}

}  // namespace weir::kafka
