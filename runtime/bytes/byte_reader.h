// ByteReader: the one bounded decoder of untrusted bytes that every wire and disk format in
// Weir sits on (jute, Kafka's protocol and RecordBatch, the logs' headers). Bytes that came
// off the network or a disk are hostile until proven otherwise, so every read is checked
// against the input; a length or count is checked against the bytes actually remaining before
// the caller may reserve anything (a 10-byte frame claiming 2 GB is an error, never an
// allocation); the first failure is kept as a sticky error naming the field and the byte, and
// every later read returns zero without touching the input. A decoder can therefore read field
// after field and look at the status once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace weir {

class ByteReader {
 public:
  // `format` prefixes every error ("jute", "kafka"): it tells an operator which decoder broke.
  explicit ByteReader(std::string_view data, std::string_view format = "bytes")
      : data_(data), format_(format) {}
  ByteReader(absl::Span<const uint8_t> data, std::string_view format)
      : ByteReader(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                   format) {}
  // The reader only views its input: a temporary string would die before the first read.
  ByteReader(std::string&&, std::string_view = {}) = delete;

  // Fixed-width integers, big-endian (network order), as jute and Kafka both write them.
  uint8_t read_u8(std::string_view field) { return static_cast<uint8_t>(load(1, field)); }
  int8_t read_i8(std::string_view field) { return static_cast<int8_t>(load(1, field)); }
  uint16_t read_u16(std::string_view field) { return static_cast<uint16_t>(load(2, field)); }
  int16_t read_i16(std::string_view field) { return static_cast<int16_t>(load(2, field)); }
  uint32_t read_u32(std::string_view field) { return static_cast<uint32_t>(load(4, field)); }
  int32_t read_i32(std::string_view field) { return static_cast<int32_t>(load(4, field)); }
  uint64_t read_u64(std::string_view field) { return load(8, field); }
  int64_t read_i64(std::string_view field) { return static_cast<int64_t>(load(8, field)); }
  double read_f64(std::string_view field);

  // Protocol Buffers-style varints (Kafka's records and flexible versions): unsigned LEB128,
  // and zig-zag signed. An encoding longer than the type allows is an error, not a wrap.
  uint32_t read_uvarint32(std::string_view field);
  uint64_t read_uvarint64(std::string_view field);
  int32_t read_varint32(std::string_view field);
  int64_t read_varint64(std::string_view field);

  // Exactly `n` bytes as a view into the input.
  std::string_view read_bytes(size_t n, std::string_view field);
  void skip(size_t n, std::string_view field) { read_bytes(n, field); }
  // A length prefix already read: fails on a negative one or one beyond the input.
  // Returns false (sticky error set) when it does not fit.
  bool check_length(int64_t length, std::string_view field);
  // An element count already read: fails unless `count` items of at least `min_item_bytes`
  // each fit in what remains, so the caller may reserve(count).
  bool check_count(int64_t count, size_t min_item_bytes, std::string_view field);

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  std::string_view rest() const { return data_.substr(pos_); }
  std::string_view data() const { return data_; }
  std::string_view format() const { return format_; }

  // Records the first error (DataLoss: the bytes are not a valid encoding); later calls are
  // ignored so the message names the field that actually broke.
  void fail(std::string_view field, std::string_view problem);
  // Prefixes the error with where it happened one level up ("CreateRequest.acl[2]").
  void add_context(std::string_view context);
  void add_index_context(std::string_view field, size_t index);
  // The verdict for a whole input: the sticky error, or an error if bytes are left over.
  absl::Status finish(std::string_view what) const;

 private:
  // True if `n` more bytes exist; otherwise fails naming `field`.
  bool need(size_t n, std::string_view field);
  uint64_t load(size_t n, std::string_view field);
  uint64_t read_uvarint(size_t bytes_max, std::string_view field);

  std::string_view data_;
  std::string_view format_;
  size_t pos_ = 0;
  absl::Status status_;
};

}  // namespace weir
