#include "coord/jute/reader.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace weir::coord::jute {
namespace {

// Strings here come from std::string_view; Debian's Abseil wants its own string_view.
absl::string_view sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

uint64_t load_be(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

bool Reader::need(size_t n, std::string_view field) {
  if (!ok()) return false;
  if (remaining() >= n) return true;
  fail(field, absl::StrCat("truncated: needs ", n, " bytes, ", remaining(), " remain"));
  return false;
}

int32_t Reader::read_int(std::string_view field) {
  if (!need(4, field)) return 0;
  const auto v = static_cast<uint32_t>(load_be(data_.data() + pos_, 4));
  pos_ += 4;
  return static_cast<int32_t>(v);
}

int64_t Reader::read_long(std::string_view field) {
  if (!need(8, field)) return 0;
  const uint64_t v = load_be(data_.data() + pos_, 8);
  pos_ += 8;
  return static_cast<int64_t>(v);
}

bool Reader::read_bool(std::string_view field) {
  if (!need(1, field)) return false;
  return data_[pos_++] != 0;
}

std::string_view Reader::read_buffer_view(std::string_view field, bool* is_null) {
  if (is_null != nullptr) *is_null = false;
  const int32_t length = read_int(field);
  if (!ok()) return {};
  if (length == -1) {
    if (is_null != nullptr) *is_null = true;
    return {};
  }
  if (length < 0) {
    fail(field, absl::StrCat("negative length ", length));
    return {};
  }
  if (static_cast<size_t>(length) > remaining()) {
    fail(field, absl::StrCat("length ", length, " exceeds the ", remaining(), " bytes remaining"));
    return {};
  }
  std::string_view out = data_.substr(pos_, static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return out;
}

std::string Reader::read_buffer(std::string_view field) {
  return std::string(read_buffer_view(field));
}

size_t Reader::read_vector_count(std::string_view field, size_t min_item_bytes) {
  const int32_t count = read_int(field);
  if (!ok() || count == -1) return 0;
  if (count < 0) {
    fail(field, absl::StrCat("negative element count ", count));
    return 0;
  }
  // Division, not multiplication: count * min_item_bytes could overflow on 32-bit size_t.
  if (static_cast<size_t>(count) > remaining() / min_item_bytes) {
    fail(field, absl::StrCat("element count ", count, " (at least ", min_item_bytes,
                             " bytes each) exceeds the ", remaining(), " bytes remaining"));
    return 0;
  }
  return static_cast<size_t>(count);
}

void Reader::fail(std::string_view field, std::string_view problem) {
  if (!ok()) return;
  status_ = absl::DataLossError(
      absl::StrCat("jute: ", sv(field), ": ", sv(problem), " (at byte ", pos_, ")"));
}

void Reader::add_context(std::string_view context) {
  if (ok()) return;
  std::string_view message(status_.message().data(), status_.message().size());
  constexpr std::string_view kPrefix = "jute: ";
  if (message.substr(0, kPrefix.size()) == kPrefix) message.remove_prefix(kPrefix.size());
  status_ = absl::Status(status_.code(), absl::StrCat("jute: ", sv(context), ": ", sv(message)));
}

absl::Status Reader::finish(std::string_view what) const {
  if (!ok()) return status_;
  if (!at_end()) {
    return absl::DataLossError(absl::StrCat("jute: ", sv(what), ": ", remaining(),
                                            " unexpected trailing bytes after byte ", pos_));
  }
  return absl::OkStatus();
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
  r.add_context(absl::StrCat(sv(field), "[", index, "]"));
}

}  // namespace weir::coord::jute
