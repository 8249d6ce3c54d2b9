// ByteWriter: appends big-endian integers, varints and byte strings to a caller-owned
// std::string. Callers size their output first (every encoder reports its encoded size), so a
// whole reply is encoded into one buffer reserved up front, and length prefixes are written
// in place: reserve_u32() leaves room and patch_u32() fills it in, so no body is built apart
// and copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace weir {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(&out) {}

  void write_u8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void write_i8(int8_t v) { write_u8(static_cast<uint8_t>(v)); }
  void write_u16(uint16_t v) { store(v, 2); }
  void write_i16(int16_t v) { store(static_cast<uint16_t>(v), 2); }
  void write_u32(uint32_t v) { store(v, 4); }
  void write_i32(int32_t v) { store(static_cast<uint32_t>(v), 4); }
  void write_u64(uint64_t v) { store(v, 8); }
  void write_i64(int64_t v) { store(static_cast<uint64_t>(v), 8); }
  void write_f64(double v);
  void write_uvarint(uint64_t v);
  void write_varint(int64_t v);  // zig-zag
  void write_bytes(std::string_view bytes) { out_->append(bytes.data(), bytes.size()); }

  // Room for a 4-byte value written later; returns its position for patch_u32().
  size_t reserve_u32();
  void patch_u32(size_t position, uint32_t v);
  size_t size() const { return out_->size(); }
  std::string& out() { return *out_; }

 private:
  void store(uint64_t v, size_t n) {
    char buf[8];
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
    out_->append(buf, n);
  }
  std::string* out_;
};

// Encoded sizes, for reserving exactly.
constexpr size_t uvarint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
constexpr uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t zigzag_decode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
constexpr size_t varint_size(int64_t v) {
  return uvarint_size(zigzag_encode(v));
}

}  // namespace weir
