#include "broker/log/log_io.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/crc32c.h"

namespace weir::broker::log {

std::string segment_file_name(Offset base, std::string_view suffix) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020lld", static_cast<long long>(base.value()));
  std::string name(digits);
  name.append(suffix);
  return name;
}

std::optional<Offset> parse_segment_file_name(std::string_view name, std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return Offset(v);
}

absl::StatusOr<size_t> read_fully(IFile& file, uint64_t offset, absl::Span<uint8_t> buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    auto n = file.read(offset + done, buffer.subspan(done));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    done += *n;
  }
  return done;
}

absl::StatusOr<size_t> read_fully(IFile& file, uint64_t offset, std::string& buffer) {
  return read_fully(file, offset,
                    absl::MakeSpan(reinterpret_cast<uint8_t*>(buffer.data()), buffer.size()));
}

uint64_t fingerprint_of(std::string_view bytes) {
  return (static_cast<uint64_t>(bytes.size()) << 32) ^ crc32c(bytes.data(), bytes.size());
}

absl::StatusOr<size_t> read_agreed(IFile& file, uint64_t offset, std::string& buffer) {
  auto n = read_fully(file, offset, buffer);
  if (!n.ok()) return n.status();
  std::string check(buffer.size(), '\0');
  for (int attempt = 1; attempt < kReadAttemptsMax; ++attempt) {
    auto m = read_fully(file, offset, check);
    if (!m.ok()) return m.status();
    if (*m == *n && std::memcmp(buffer.data(), check.data(), *n) == 0) return *n;
    buffer.swap(check);
    n = m;
  }
  return absl::UnavailableError(
      absl::StrCat("reads never agreed (unstable device?): ", file.path(), " at ", offset));
}

}  // namespace weir::broker::log
