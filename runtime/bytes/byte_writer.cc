#include "runtime/bytes/byte_writer.h"

#include <bit>

namespace weir {

void ByteWriter::write_f64(double v) {
  store(std::bit_cast<uint64_t>(v), 8);
}

void ByteWriter::write_uvarint(uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out_->append(buf, n);
}

void ByteWriter::write_varint(int64_t v) {
  write_uvarint(zigzag_encode(v));
}

size_t ByteWriter::reserve_u32() {
  const size_t at = out_->size();
  out_->append(4, '\0');
  return at;
}

void ByteWriter::patch_u32(size_t position, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) (*out_)[position + i] = static_cast<char>(v >> (8 * (3 - i)));
}

}  // namespace weir
