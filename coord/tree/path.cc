#include "coord/tree/path.h"

#include <cstdint>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace weir::coord {
namespace {

// Decodes one UTF-8 sequence at `s[i]`; returns its length, or 0 if it is malformed (truncated,
// overlong, an encoded surrogate, or beyond U+10FFFF).
size_t decode_utf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2, min = 0x80, *cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, min = 0x800, *cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3f);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return 0;
  return len;
}

// The characters PathUtils refuses inside a name (as UTF-16 code units: anything above U+FFFF
// is a surrogate pair there, and surrogates fall in the refused D800-F8FF range).
bool refused_code_point(uint32_t c) {
  return (c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
         c >= 0xfff0;
}

absl::Status invalid(std::string_view path, std::string_view why, size_t at) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid path \"", std::string(path), "\": ", std::string(why), " @", at));
}

}  // namespace

absl::Status validate_path(std::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("path length must be > 0");
  if (path[0] != '/') return invalid(path, "path must start with /", 0);
  if (path.size() == 1) return absl::OkStatus();
  if (path.back() == '/') return invalid(path, "path must not end with /", path.size() - 1);
  size_t component_start = 1;
  for (size_t i = 1; i < path.size();) {
    uint32_t cp = 0;
    const size_t len = decode_utf8(path, i, &cp);
    if (len == 0) return invalid(path, "not UTF-8", i);
    if (cp == 0) return invalid(path, "null character not allowed", i);
    if (refused_code_point(cp)) return invalid(path, "invalid character", i);
    if (cp == '/') {
      if (i == component_start) return invalid(path, "empty node name specified", i);
      const std::string_view name = path.substr(component_start, i - component_start);
      if (name == "." || name == "..") return invalid(path, "relative paths not allowed", i);
      component_start = i + 1;
    }
    i += len;
  }
  const std::string_view last = path.substr(component_start);
  if (last == "." || last == "..") return invalid(path, "relative paths not allowed", path.size());
  return absl::OkStatus();
}

std::string_view parent_path(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return path.substr(0, slash);
}

std::string_view node_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string child_path(std::string_view parent, std::string_view name) {
  if (parent == "/") return absl::StrCat("/", std::string(name));
  return absl::StrCat(std::string(parent), "/", std::string(name));
}

bool is_special_path(std::string_view path) {
  return path == "/" || path == kZookeeperPath || path == kQuotaPath || path == kConfigPath;
}

std::string sequence_suffix(int32_t cversion) {
  char buf[16];
  const int n = std::snprintf(buf, sizeof(buf), "%010d", cversion);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace weir::coord
