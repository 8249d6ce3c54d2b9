#include "coord/jute/reader.h"

#include "absl/strings/str_cat.h"

namespace weir::coord::jute {

std::string_view Reader::read_buffer_view(std::string_view field, bool* is_null) {
  if (is_null != nullptr) *is_null = false;
  const int32_t length = read_int(field);
  if (!ok()) return {};
  if (length == -1) {
    if (is_null != nullptr) *is_null = true;
    return {};
  }
  if (!bytes_.check_length(length, field)) return {};
  return bytes_.read_bytes(static_cast<size_t>(length), field);
}

std::string Reader::read_buffer(std::string_view field) {
  return std::string(read_buffer_view(field));
}

size_t Reader::read_vector_count(std::string_view field, size_t min_item_bytes) {
  const int32_t count = read_int(field);
  if (!ok() || count == -1) return 0;
  if (!bytes_.check_count(count, min_item_bytes, field)) return 0;
  return static_cast<size_t>(count);
}

void read_ustring_vector(Reader& r, std::vector<std::string>& out, std::string_view field) {
  const size_t n = r.read_vector_count(field, 4);
  out.clear();
  out.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    out.push_back(r.read_ustring("ustring"));
  }
  if (!r.ok() && n > 0) add_index_context(r, field, out.size() - 1);
}

void add_index_context(Reader& r, std::string_view field, size_t index) {
  r.add_context(absl::StrCat(absl::string_view(field.data(), field.size()), "[", index, "]"));
}

}  // namespace weir::coord::jute
