// Reader: decodes jute primitives from bytes that came off the network, on the project's one
// bounded ByteReader (runtime/bytes): every read is bounds-checked, every length and count is
// checked against the bytes remaining before anything is reserved, and the first failure is a
// sticky error naming the field. This class adds only jute's encodings of buffers and vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/bytes/byte_reader.h"

namespace weir::coord::jute {

class Reader {
 public:
  explicit Reader(std::string_view data) : bytes_(data, "jute") {}
  explicit Reader(absl::Span<const uint8_t> data) : bytes_(data, "jute") {}
  // The Reader only views its input: a temporary string would die before the first read.
  explicit Reader(std::string&&) = delete;

  // `field` names what is being read ("ConnectRequest.passwd") for the error message.
  int32_t read_int(std::string_view field) { return bytes_.read_i32(field); }
  int64_t read_long(std::string_view field) { return bytes_.read_i64(field); }
  // Any non-zero byte is true, as Java's DataInput reads it.
  bool read_bool(std::string_view field) { return bytes_.read_u8(field) != 0; }
  // jute `buffer` and `ustring`: an int length, then that many bytes. Length -1 is null, read
  // as empty; any other negative length is an error.
  std::string read_buffer(std::string_view field);
  std::string read_ustring(std::string_view field) { return read_buffer(field); }
  // The same without a copy: the view points into the input. `is_null` (optional) tells a
  // null buffer from an empty one.
  std::string_view read_buffer_view(std::string_view field, bool* is_null = nullptr);
  // A vector's element count (null, -1, reads as 0). Fails unless `count` items of at least
  // `min_item_bytes` each fit in the remaining input, so the caller may reserve(count).
  size_t read_vector_count(std::string_view field, size_t min_item_bytes);

  bool ok() const { return bytes_.ok(); }
  const absl::Status& status() const { return bytes_.status(); }
  size_t position() const { return bytes_.position(); }
  size_t remaining() const { return bytes_.remaining(); }
  bool at_end() const { return bytes_.at_end(); }

  // Records the first error (DataLoss: the bytes are not a valid encoding); later calls are
  // ignored so the message names the field that actually broke.
  void fail(std::string_view field, std::string_view problem) { bytes_.fail(field, problem); }
  // Prefixes the error with where it happened one level up ("CreateRequest.acl[2]").
  void add_context(std::string_view context) { bytes_.add_context(context); }
  // The decode verdict for a whole input: the sticky error, or an error if bytes are left over.
  absl::Status finish(std::string_view what) const { return bytes_.finish(what); }

 private:
  ByteReader bytes_;
};

// Reads a vector<ustring>.
void read_ustring_vector(Reader& r, std::vector<std::string>& out, std::string_view field);

// Reads one nested record and, if it broke, says where it sits in the enclosing record.
template <class T>
void read_record(Reader& r, T& out, std::string_view field) {
  out.decode(r);
  if (!r.ok()) r.add_context(field);
}

void add_index_context(Reader& r, std::string_view field, size_t index);

// Reads a vector of records. T provides decode(Reader&) and kMinBytes (its smallest encoding).
template <class T>
void read_record_vector(Reader& r, std::vector<T>& out, std::string_view field) {
  static_assert(T::kMinBytes > 0, "a zero-byte item would make the count bound meaningless");
  const size_t n = r.read_vector_count(field, T::kMinBytes);
  out.clear();
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.emplace_back().decode(r);
    if (!r.ok()) {
      add_index_context(r, field, i);
      return;
    }
  }
}

}  // namespace weir::coord::jute
