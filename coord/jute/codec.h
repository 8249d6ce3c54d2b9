// One-call encode and decode of a single record (or of anything with the same shape:
// encode(Writer&), decode(Reader&), encoded_size(), kName), for callers that hold a whole
// record's bytes rather than a stream of fields.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "coord/jute/reader.h"
#include "coord/jute/writer.h"

namespace weir::coord::jute {

// Decodes a T that must fill `bytes` exactly: trailing bytes are an error.
template <class T>
absl::StatusOr<T> decode_exact(std::string_view bytes) {
  Reader r(bytes);
  T value;
  value.decode(r);
  if (absl::Status s = r.finish(T::kName); !s.ok()) return s;
  return value;
}

// Decodes a T from the start of `bytes`, ignoring what follows (as ZooKeeper does with bytes
// past the fields it knows); `consumed` (optional) receives the bytes the T took.
template <class T>
absl::StatusOr<T> decode_prefix(std::string_view bytes, size_t* consumed = nullptr) {
  Reader r(bytes);
  T value;
  value.decode(r);
  if (!r.ok()) return r.status();
  if (consumed != nullptr) *consumed = r.position();
  return value;
}

template <class T>
void encode_append(const T& value, std::string& out) {
  out.reserve(out.size() + value.encoded_size());
  Writer w(out);
  value.encode(w);
}

template <class T>
std::string encode_to_string(const T& value) {
  std::string out;
  encode_append(value, out);
  return out;
}

}  // namespace weir::coord::jute
