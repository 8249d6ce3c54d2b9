#include "broker/kafka/protocol/wire.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace weir::kafka {
namespace {

// Where a value's length (or null) comes from: classic (fixed-width, -1 null) or compact
// (unsigned varint of length + 1, 0 null).
enum class Width { k16, k32 };

// Reads a length prefix; returns -1 for a (permitted) null, -2 on failure. The length is
// checked against the bytes remaining, so the caller may take that many bytes.
int64_t read_length(ByteReader& r, bool flexible, Width width, bool nullable,
                    std::string_view field) {
  int64_t length = 0;
  if (flexible) {
    length = static_cast<int64_t>(r.read_uvarint32(field)) - 1;
  } else {
    length = width == Width::k16 ? r.read_i16(field) : r.read_i32(field);
  }
  if (!r.ok()) return -2;
  if (length == -1) {
    if (nullable) return -1;
    r.fail(field, "null in a field that is not nullable at this version");
    return -2;
  }
  if (width == Width::k16 && length > static_cast<int64_t>(wire::kMaxStringLength)) {
    r.fail(field, absl::StrCat("string length ", length, " exceeds ", wire::kMaxStringLength));
    return -2;
  }
  return r.check_length(length, field) ? length : -2;
}

std::optional<std::string_view> read_view(ByteReader& r, bool flexible, Width width, bool nullable,
                                          std::string_view field) {
  const int64_t length = read_length(r, flexible, width, nullable, field);
  if (length < 0) return std::nullopt;
  return r.read_bytes(static_cast<size_t>(length), field);
}

void write_length(ByteWriter& w, bool flexible, Width width, int64_t length) {
  if (flexible) {
    w.write_uvarint(static_cast<uint64_t>(length + 1));
  } else if (width == Width::k16) {
    w.write_i16(static_cast<int16_t>(length));
  } else {
    w.write_i32(static_cast<int32_t>(length));
  }
}

size_t length_size(bool flexible, Width width, int64_t length) {
  if (flexible) return uvarint_size(static_cast<uint64_t>(length + 1));
  return width == Width::k16 ? 2 : 4;
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Uuid& id) {
  char hex[33];
  for (size_t i = 0; i < id.bytes.size(); ++i) {
    std::snprintf(hex + 2 * i, 3, "%02x", id.bytes[i]);
  }
  return os << std::string_view(hex, 32);
}

std::ostream& operator<<(std::ostream& os, const Records& records) {
  if (records.is_null) return os << "null";
  if (records.external_bytes > 0) {
    return os << "<" << records.bytes.size() << " bytes + " << records.external_bytes
              << " from a file>";
  }
  return os << "<" << records.bytes.size() << " bytes>";
}

namespace wire {

bool check_version(ByteReader& r, int16_t version, int16_t min, int16_t max) {
  if (!r.ok()) return false;
  if (version >= min && version <= max) return true;
  const std::string field = absl::StrCat("version ", version);
  r.fail(field, absl::StrCat("outside the supported range ", min, "-", max));
  return false;
}

std::string read_string(ByteReader& r, bool flexible, std::string_view field) {
  const auto view = read_view(r, flexible, Width::k16, false, field);
  return view ? std::string(*view) : std::string();
}

std::optional<std::string> read_nullable_string(ByteReader& r, bool flexible, bool nullable,
                                                std::string_view field) {
  const auto view = read_view(r, flexible, Width::k16, nullable, field);
  if (!view) return std::nullopt;
  return std::string(*view);
}

std::string read_bytes(ByteReader& r, bool flexible, std::string_view field) {
  const auto view = read_view(r, flexible, Width::k32, false, field);
  return view ? std::string(*view) : std::string();
}

std::optional<std::string> read_nullable_bytes(ByteReader& r, bool flexible, bool nullable,
                                               std::string_view field) {
  const auto view = read_view(r, flexible, Width::k32, nullable, field);
  if (!view) return std::nullopt;
  return std::string(*view);
}

Records read_records(ByteReader& r, bool flexible, bool nullable, std::string_view field) {
  const int64_t length = read_length(r, flexible, Width::k32, nullable, field);
  if (length == -1) return Records{.bytes = {}, .is_null = true};
  if (length < 0) return Records{};
  return Records{.bytes = r.read_bytes(static_cast<size_t>(length), field)};
}

Uuid read_uuid(ByteReader& r, std::string_view field) {
  Uuid id;
  const std::string_view raw = r.read_bytes(id.bytes.size(), field);
  if (raw.size() == id.bytes.size()) std::copy(raw.begin(), raw.end(), id.bytes.begin());
  return id;
}

int64_t read_array_count(ByteReader& r, bool flexible, bool nullable, size_t min_item_bytes,
                         std::string_view field) {
  int64_t count = 0;
  if (flexible) {
    count = static_cast<int64_t>(r.read_uvarint32(field)) - 1;
  } else {
    count = r.read_i32(field);
  }
  if (!r.ok()) return -1;
  if (count == -1) {
    if (!nullable) r.fail(field, "null array in a field that is not nullable at this version");
    return -1;
  }
  return r.check_count(count, min_item_bytes == 0 ? 1 : min_item_bytes, field) ? count : -1;
}

void skip_tagged_fields(ByteReader& r) {
  read_tagged_fields(r, [](uint32_t) { return false; });
}

bool check_tagged_field(ByteReader& r, uint32_t tag, uint32_t size, int64_t& previous_tag) {
  if (!r.ok()) return false;
  if (static_cast<int64_t>(tag) <= previous_tag) {
    r.fail("tagged_fields", absl::StrCat("tag ", tag, " after tag ", previous_tag,
                                         ": tags must be strictly ascending"));
    return false;
  }
  previous_tag = tag;
  return r.check_length(size, "tagged_fields.size");
}

bool check_tagged_field_size(ByteReader& r, uint32_t tag, size_t start, uint32_t size) {
  if (!r.ok()) return false;
  const size_t used = r.position() - start;
  if (used == size) return true;
  r.fail("tagged_fields",
         absl::StrCat("tagged field ", tag, " declared ", size, " bytes but used ", used));
  return false;
}

std::string_view clamp_string(std::string_view s) {
  return s.substr(0, std::min(s.size(), kMaxStringLength));
}

void write_string(ByteWriter& w, bool flexible, std::string_view s) {
  s = clamp_string(s);
  write_length(w, flexible, Width::k16, static_cast<int64_t>(s.size()));
  w.write_bytes(s);
}

void write_nullable_string(ByteWriter& w, bool flexible, bool nullable,
                           const std::optional<std::string>& s) {
  if (s.has_value()) {
    write_string(w, flexible, *s);
  } else if (nullable) {
    write_length(w, flexible, Width::k16, -1);
  } else {
    write_string(w, flexible, {});
  }
}

void write_bytes(ByteWriter& w, bool flexible, std::string_view b) {
  write_length(w, flexible, Width::k32, static_cast<int64_t>(b.size()));
  w.write_bytes(b);
}

void write_nullable_bytes(ByteWriter& w, bool flexible, bool nullable,
                          const std::optional<std::string>& b) {
  if (b.has_value()) {
    write_bytes(w, flexible, *b);
  } else {
    write_length(w, flexible, Width::k32, nullable ? -1 : 0);
  }
}

void write_records(ByteWriter& w, bool flexible, bool nullable, const Records& records) {
  if (records.is_null) {
    write_length(w, flexible, Width::k32, nullable ? -1 : 0);
  } else {
    write_length(w, flexible, Width::k32, static_cast<int64_t>(records.size()));
    w.write_bytes(records.bytes);
    if (records.external_at != nullptr) *records.external_at = w.size();
  }
}

void write_uuid(ByteWriter& w, const Uuid& id) {
  w.write_bytes(std::string_view(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()));
}

void write_array_count(ByteWriter& w, bool flexible, int64_t count) {
  write_length(w, flexible, Width::k32, count);
}

size_t string_size(bool flexible, std::string_view s) {
  s = clamp_string(s);
  return length_size(flexible, Width::k16, static_cast<int64_t>(s.size())) + s.size();
}

size_t nullable_string_size(bool flexible, bool nullable, const std::optional<std::string>& s) {
  if (s.has_value()) return string_size(flexible, *s);
  return nullable ? length_size(flexible, Width::k16, -1) : string_size(flexible, {});
}

size_t bytes_size(bool flexible, std::string_view b) {
  return length_size(flexible, Width::k32, static_cast<int64_t>(b.size())) + b.size();
}

size_t nullable_bytes_size(bool flexible, bool nullable, const std::optional<std::string>& b) {
  if (b.has_value()) return bytes_size(flexible, *b);
  return length_size(flexible, Width::k32, nullable ? -1 : 0);
}

size_t records_size(bool flexible, bool nullable, const Records& records) {
  if (records.is_null) return length_size(flexible, Width::k32, nullable ? -1 : 0);
  return length_size(flexible, Width::k32, static_cast<int64_t>(records.size())) + records.size();
}

size_t array_count_size(bool flexible, int64_t count) {
  return length_size(flexible, Width::k32, count);
}

void write_tag_header(ByteWriter& w, uint32_t tag, size_t size) {
  w.write_uvarint(tag);
  w.write_uvarint(size);
}

}  // namespace wire
}  // namespace weir::kafka
