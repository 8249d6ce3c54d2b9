#include "runtime/bytes/byte_reader.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/bytes/byte_writer.h"

namespace weir {
namespace {

// Debian's Abseil has its own string_view.
absl::string_view sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace

bool ByteReader::need(size_t n, std::string_view field) {
  if (!ok()) return false;
  if (remaining() >= n) return true;
  fail(field, absl::StrCat("truncated: needs ", n, " bytes, ", remaining(), " remain"));
  return false;
}

uint64_t ByteReader::load(size_t n, std::string_view field) {
  if (!need(n, field)) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += n;
  return v;
}

double ByteReader::read_f64(std::string_view field) {
  return std::bit_cast<double>(load(8, field));
}

uint64_t ByteReader::read_uvarint(size_t bytes_max, std::string_view field) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes_max; ++i) {
    if (!need(1, field)) return 0;
    const auto b = static_cast<uint8_t>(data_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      // The last byte of a maximal encoding may only carry the bits the type has left.
      const size_t used_bits = 7 * i;
      const size_t type_bits = bytes_max == 5 ? 32 : 64;
      if (used_bits + 7 > type_bits && (b >> (type_bits - used_bits)) != 0) break;
      return v;
    }
  }
  fail(field, absl::StrCat("varint longer than ", bytes_max, " bytes or out of range"));
  return 0;
}

uint32_t ByteReader::read_uvarint32(std::string_view field) {
  return static_cast<uint32_t>(read_uvarint(5, field));
}

uint64_t ByteReader::read_uvarint64(std::string_view field) {
  return read_uvarint(10, field);
}

int32_t ByteReader::read_varint32(std::string_view field) {
  const uint32_t z = read_uvarint32(field);
  return static_cast<int32_t>((z >> 1) ^ -(z & 1));
}

int64_t ByteReader::read_varint64(std::string_view field) {
  return zigzag_decode(read_uvarint64(field));
}

std::string_view ByteReader::read_bytes(size_t n, std::string_view field) {
  if (!need(n, field)) return {};
  std::string_view out = data_.substr(pos_, n);
  pos_ += n;
  return out;
}

bool ByteReader::check_length(int64_t length, std::string_view field) {
  if (!ok()) return false;
  if (length < 0) {
    fail(field, absl::StrCat("negative length ", length));
    return false;
  }
  if (static_cast<uint64_t>(length) > remaining()) {
    fail(field, absl::StrCat("length ", length, " exceeds the ", remaining(), " bytes remaining"));
    return false;
  }
  return true;
}

bool ByteReader::check_count(int64_t count, size_t min_item_bytes, std::string_view field) {
  if (!ok()) return false;
  if (count < 0) {
    fail(field, absl::StrCat("negative element count ", count));
    return false;
  }
  // Division, not multiplication: count * min_item_bytes could overflow.
  const size_t per_item = min_item_bytes == 0 ? 1 : min_item_bytes;
  if (static_cast<uint64_t>(count) > remaining() / per_item) {
    fail(field, absl::StrCat("element count ", count, " (at least ", per_item,
                             " bytes each) exceeds the ", remaining(), " bytes remaining"));
    return false;
  }
  return true;
}

void ByteReader::fail(std::string_view field, std::string_view problem) {
  if (!ok()) return;
  status_ = absl::DataLossError(
      absl::StrCat(sv(format_), ": ", sv(field), ": ", sv(problem), " (at byte ", pos_, ")"));
}

void ByteReader::add_context(std::string_view context) {
  if (ok()) return;
  std::string_view message(status_.message().data(), status_.message().size());
  const std::string prefix = absl::StrCat(sv(format_), ": ");
  if (message.substr(0, prefix.size()) == prefix) message.remove_prefix(prefix.size());
  status_ = absl::Status(status_.code(), absl::StrCat(prefix, sv(context), ": ", sv(message)));
}

void ByteReader::add_index_context(std::string_view field, size_t index) {
  add_context(absl::StrCat(sv(field), "[", index, "]"));
}

absl::Status ByteReader::finish(std::string_view what) const {
  if (!ok()) return status_;
  if (!at_end()) {
    return absl::DataLossError(absl::StrCat(sv(format_), ": ", sv(what), ": ", remaining(),
                                            " unexpected trailing bytes after byte ", pos_));
  }
  return absl::OkStatus();
}

}  // namespace weir
