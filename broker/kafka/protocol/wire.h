// The Kafka wire encodings that every generated message (messages.h) is built from: strings,
// bytes, records, arrays and tagged fields, each in its classic form (int16/int32 lengths, -1 for
// null) and its flexible form (KIP-482: unsigned varint length + 1, 0 for null, and a tagged
// fields section closing every struct). The generated code only says which field, which form and
// whether null is allowed at the version; the checks live here once. Decoding sits on the
// bounded ByteReader, so a length or count is checked against the bytes actually remaining
// before anything is reserved, and the first failure names its field.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/bytes/byte_reader.h"
#include "runtime/bytes/byte_writer.h"

namespace weir::kafka {

// Kafka's uuid type (topic ids): 16 raw bytes on the wire, all zero meaning "none".
struct Uuid {
  std::array<uint8_t, 16> bytes{};
  bool is_zero() const { return *this == Uuid{}; }
  friend bool operator==(const Uuid&, const Uuid&) = default;
};
std::ostream& operator<<(std::ostream& os, const Uuid& id);

// A "records" field (a Produce request's batches, a Fetch response's data): a view, never a
// copy, so a produce is decoded without copying its payload and a fetch is encoded straight
// from log bytes. Decoding points into the input frame, which must outlive the message; when
// encoding, the caller owns the bytes.
//
// Encoding only: `external_bytes` more bytes follow `bytes` in the field that the encoder does
// not write (a fetch's file range, sent with sendfile). The length prefix and encoded_size()
// count them; the encoder stores in *external_at (when set) the position in its output where
// they belong, for the caller to splice them in (framed::Reply::files). Decoding never sets
// them.
struct Records {
  std::string_view bytes;
  bool is_null = false;
  uint64_t external_bytes = 0;
  size_t* external_at = nullptr;
  uint64_t size() const { return bytes.size() + external_bytes; }
  friend bool operator==(const Records& a, const Records& b) {
    return a.is_null == b.is_null && a.bytes == b.bytes && a.external_bytes == b.external_bytes;
  }
};
std::ostream& operator<<(std::ostream& os, const Records& records);

// An inclusive range of versions, as the schemas write them ("3+", "0-7", "none" = empty).
struct VersionRange {
  int16_t lo = 0;
  int16_t hi = -1;
  constexpr bool contains(int16_t v) const { return lo <= v && v <= hi; }
};

// What generic code (tests, printers) needs to know of a field without its schema: where it is
// present, nullable and tagged. Passed by for_each_field to its visitor.
struct FieldInfo {
  std::string_view name;
  VersionRange versions;
  VersionRange nullable;
  VersionRange tagged;
  int32_t tag = -1;
};

// Calls v(FieldInfo, field&) on each field of a generated struct, in wire order: how printers
// and tests walk any message without knowing its schema.
template <class T, class V>
requires requires(T& t, V& v) {
  std::remove_const_t<T>::visit_fields(t, v);
}
void for_each_field(T& s, V&& v) {
  std::remove_const_t<T>::visit_fields(s, v);
}

namespace wire {

// Kafka reads and writes strings with a 16-bit length even when flexible; longer is invalid.
inline constexpr size_t kMaxStringLength = 0x7fff;

// Fails unless `version` is within [min, max]: a struct decoded at a version it does not know
// would silently read the wrong fields.
bool check_version(ByteReader& r, int16_t version, int16_t min, int16_t max);

// ---- reading --------------------------------------------------------------------------------
// `nullable` says whether null is valid at this version; a null where it is not is an error.

std::string read_string(ByteReader& r, bool flexible, std::string_view field);
std::optional<std::string> read_nullable_string(ByteReader& r, bool flexible, bool nullable,
                                                std::string_view field);
std::string read_bytes(ByteReader& r, bool flexible, std::string_view field);
std::optional<std::string> read_nullable_bytes(ByteReader& r, bool flexible, bool nullable,
                                               std::string_view field);
Records read_records(ByteReader& r, bool flexible, bool nullable, std::string_view field);
Uuid read_uuid(ByteReader& r, std::string_view field);
// An array's element count, checked so that `count` items of `min_item_bytes` (at least 1) fit
// in what remains. Returns -1 for null or on failure (r.ok() tells them apart).
int64_t read_array_count(ByteReader& r, bool flexible, bool nullable, size_t min_item_bytes,
                         std::string_view field);
// The tagged fields section of a flexible struct when the struct knows no tags.
void skip_tagged_fields(ByteReader& r);

// Checks a tagged field's header: tags strictly ascending, size within the input.
bool check_tagged_field(ByteReader& r, uint32_t tag, uint32_t size, int64_t& previous_tag);
// Checks that a known tagged field used exactly the size its header declared.
bool check_tagged_field_size(ByteReader& r, uint32_t tag, size_t start, uint32_t size);

// Reads a tagged fields section: `known(tag)` decodes a tag the struct knows at this version
// and returns true, or returns false to have the field skipped.
template <class Known>
void read_tagged_fields(ByteReader& r, Known&& known) {
  const uint32_t count = r.read_uvarint32("tagged_fields");
  if (!r.check_count(count, 2, "tagged_fields")) return;
  int64_t previous_tag = -1;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t tag = r.read_uvarint32("tagged_fields.tag");
    const uint32_t size = r.read_uvarint32("tagged_fields.size");
    if (!check_tagged_field(r, tag, size, previous_tag)) return;
    const size_t start = r.position();
    if (!known(tag)) {
      r.skip(size, "tagged_fields.unknown");
    } else if (!check_tagged_field_size(r, tag, start, size)) {
      return;
    }
    if (!r.ok()) return;
  }
}

// ---- writing --------------------------------------------------------------------------------
// Encoding a value a version cannot carry is the caller's bug; the encoders keep the output
// well-formed instead of crashing: a null where null is invalid is written as empty, a string
// longer than kMaxStringLength is cut to it (encoded_size agrees).

std::string_view clamp_string(std::string_view s);
void write_string(ByteWriter& w, bool flexible, std::string_view s);
void write_nullable_string(ByteWriter& w, bool flexible, bool nullable,
                           const std::optional<std::string>& s);
void write_bytes(ByteWriter& w, bool flexible, std::string_view b);
void write_nullable_bytes(ByteWriter& w, bool flexible, bool nullable,
                          const std::optional<std::string>& b);
void write_records(ByteWriter& w, bool flexible, bool nullable, const Records& records);
void write_uuid(ByteWriter& w, const Uuid& id);
// -1 writes null.
void write_array_count(ByteWriter& w, bool flexible, int64_t count);

size_t string_size(bool flexible, std::string_view s);
size_t nullable_string_size(bool flexible, bool nullable, const std::optional<std::string>& s);
size_t bytes_size(bool flexible, std::string_view b);
size_t nullable_bytes_size(bool flexible, bool nullable, const std::optional<std::string>& b);
size_t records_size(bool flexible, bool nullable, const Records& records);
size_t array_count_size(bool flexible, int64_t count);

// ---- arrays ---------------------------------------------------------------------------------

// A generated struct: decoded, encoded and sized at a version.
template <class T>
concept Struct = requires(T& t, const T& ct, ByteReader& r, ByteWriter& w, int16_t v) {
  t.decode(r, v);
  ct.encode(w, v);
  { ct.encoded_size(v) } -> std::same_as<size_t>;
  { T::min_encoded_size(v) } -> std::same_as<size_t>;
};

// How one element of an array of a primitive type is read, written and sized.
template <class T>
struct Element;

template <std::integral T>
struct Element<T> {
  static constexpr size_t min_size(bool) { return sizeof(T); }
  static T read(ByteReader& r, bool, std::string_view field) {
    if constexpr (std::same_as<T, bool>) {
      return r.read_u8(field) != 0;
    } else if constexpr (sizeof(T) == 1) {
      return static_cast<T>(r.read_u8(field));
    } else if constexpr (sizeof(T) == 2) {
      return static_cast<T>(r.read_u16(field));
    } else if constexpr (sizeof(T) == 4) {
      return static_cast<T>(r.read_u32(field));
    } else {
      static_assert(sizeof(T) == 8);
      return static_cast<T>(r.read_u64(field));
    }
  }
  static void write(ByteWriter& w, bool, T v) {
    if constexpr (std::same_as<T, bool>) {
      w.write_u8(v ? 1 : 0);
    } else if constexpr (sizeof(T) == 1) {
      w.write_u8(static_cast<uint8_t>(v));
    } else if constexpr (sizeof(T) == 2) {
      w.write_u16(static_cast<uint16_t>(v));
    } else if constexpr (sizeof(T) == 4) {
      w.write_u32(static_cast<uint32_t>(v));
    } else {
      w.write_u64(static_cast<uint64_t>(v));
    }
  }
  static constexpr size_t size(bool, T) { return sizeof(T); }
};

template <>
struct Element<double> {
  static constexpr size_t min_size(bool) { return 8; }
  static double read(ByteReader& r, bool, std::string_view field) { return r.read_f64(field); }
  static void write(ByteWriter& w, bool, double v) { w.write_f64(v); }
  static constexpr size_t size(bool, double) { return 8; }
};

template <>
struct Element<Uuid> {
  static constexpr size_t min_size(bool) { return 16; }
  static Uuid read(ByteReader& r, bool, std::string_view field) { return read_uuid(r, field); }
  static void write(ByteWriter& w, bool, const Uuid& v) { write_uuid(w, v); }
  static constexpr size_t size(bool, const Uuid&) { return 16; }
};

template <>
struct Element<std::string> {
  static size_t min_size(bool flexible) { return flexible ? 1 : 2; }
  static std::string read(ByteReader& r, bool flexible, std::string_view field) {
    return read_string(r, flexible, field);
  }
  static void write(ByteWriter& w, bool flexible, const std::string& v) {
    write_string(w, flexible, v);
  }
  static size_t size(bool flexible, const std::string& v) { return string_size(flexible, v); }
};

template <class T>
size_t min_element_size(int16_t version, bool flexible) {
  if constexpr (Struct<T>) {
    const size_t n = T::min_encoded_size(version);
    return n == 0 ? 1 : n;
  } else {
    return Element<T>::min_size(flexible);
  }
}

// Reads `count` elements (already checked against the input, so reserving is safe).
template <class T>
void read_elements(ByteReader& r, int16_t version, bool flexible, int64_t count,
                   std::vector<T>& out, std::string_view field) {
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    if constexpr (Struct<T>) {
      out.emplace_back().decode(r, version);
      if (!r.ok()) {
        r.add_index_context(field, static_cast<size_t>(i));
        return;
      }
    } else {
      out.push_back(Element<T>::read(r, flexible, field));
      if (!r.ok()) return;
    }
  }
}

template <class T>
void read_array(ByteReader& r, int16_t version, bool flexible, std::vector<T>& out,
                std::string_view field) {
  out.clear();
  const int64_t count =
      read_array_count(r, flexible, false, min_element_size<T>(version, flexible), field);
  if (count > 0) read_elements(r, version, flexible, count, out, field);
}

template <class T>
void read_nullable_array(ByteReader& r, int16_t version, bool flexible, bool nullable,
                         std::optional<std::vector<T>>& out, std::string_view field) {
  out.reset();
  const int64_t count =
      read_array_count(r, flexible, nullable, min_element_size<T>(version, flexible), field);
  if (!r.ok() || count < 0) return;
  read_elements(r, version, flexible, count, out.emplace(), field);
}

template <class T>
void write_elements(ByteWriter& w, int16_t version, bool flexible, const std::vector<T>& items) {
  for (const T& item : items) {
    if constexpr (Struct<T>) {
      item.encode(w, version);
    } else {
      Element<T>::write(w, flexible, item);
    }
  }
}

template <class T>
void write_array(ByteWriter& w, int16_t version, bool flexible, const std::vector<T>& items) {
  write_array_count(w, flexible, static_cast<int64_t>(items.size()));
  write_elements(w, version, flexible, items);
}

template <class T>
void write_nullable_array(ByteWriter& w, int16_t version, bool flexible, bool nullable,
                          const std::optional<std::vector<T>>& items) {
  if (!items.has_value()) {
    write_array_count(w, flexible, nullable ? -1 : 0);
    return;
  }
  write_array(w, version, flexible, *items);
}

template <class T>
size_t elements_size(int16_t version, bool flexible, const std::vector<T>& items) {
  size_t n = 0;
  for (const T& item : items) {
    if constexpr (Struct<T>) {
      n += item.encoded_size(version);
    } else {
      n += Element<T>::size(flexible, item);
    }
  }
  return n;
}

template <class T>
size_t array_size(int16_t version, bool flexible, const std::vector<T>& items) {
  return array_count_size(flexible, static_cast<int64_t>(items.size())) +
         elements_size(version, flexible, items);
}

template <class T>
size_t nullable_array_size(int16_t version, bool flexible, bool nullable,
                           const std::optional<std::vector<T>>& items) {
  if (!items.has_value()) return array_count_size(flexible, nullable ? -1 : 0);
  return array_size(version, flexible, *items);
}

// A nested struct field: decoded in place, and on failure named in the error path.
template <class T>
void read_struct(ByteReader& r, int16_t version, T& out, std::string_view field) {
  out.decode(r, version);
  if (!r.ok()) r.add_context(field);
}

// A tagged field's header and value: tag, size, then the value (written by `encode`).
void write_tag_header(ByteWriter& w, uint32_t tag, size_t size);
inline size_t tagged_field_size(uint32_t tag, size_t size) {
  return uvarint_size(tag) + uvarint_size(size) + size;
}

}  // namespace wire
}  // namespace weir::kafka
