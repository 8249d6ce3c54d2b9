// Reader: decodes jute primitives from bytes that came off the network. It exists because those
// bytes are hostile until proven otherwise: every read is bounds-checked against the input, a
// length or count prefix is checked against the bytes actually remaining before anything is
// reserved (a 10-byte frame claiming a 2 GB buffer is an error, not an allocation), and the
// first failure is kept as a sticky error naming the field, after which every read returns a
// zero value without touching the input. Generated record decoders can therefore read field
// after field and look at the status once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace weir::coord::jute {

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  explicit Reader(absl::Span<const uint8_t> data)
      : data_(reinterpret_cast<const char*>(data.data()), data.size()) {}
  // The Reader only views its input: a temporary string would die before the first read.
  explicit Reader(std::string&&) = delete;

  // `field` names what is being read ("ConnectRequest.passwd") for the error message.
  int32_t read_int(std::string_view field);
  int64_t read_long(std::string_view field);
  // Any non-zero byte is true, as Java's DataInput reads it.
  bool read_bool(std::string_view field);
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

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  // Records the first error (DataLoss: the bytes are not a valid encoding); later calls are
  // ignored so the message names the field that actually broke.
  void fail(std::string_view field, std::string_view problem);
  // Prefixes the error with where it happened one level up ("CreateRequest.acl[2]").
  void add_context(std::string_view context);
  // The decode verdict for a whole input: the sticky error, or an error if bytes are left over.
  absl::Status finish(std::string_view what) const;

 private:
  // True if `n` more bytes exist; otherwise fails naming `field`.
  bool need(size_t n, std::string_view field);

  std::string_view data_;
  size_t pos_ = 0;
  absl::Status status_;
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
