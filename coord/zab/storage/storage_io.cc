#include "coord/zab/storage/storage_io.h"

#include <cstdio>

namespace weir::coord::zab {

std::string hex_name(const std::string& prefix, int64_t value) {
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(value)));
  return prefix + digits;
}

std::optional<int64_t> parse_hex_name(const std::string& prefix, const std::string& name) {
  if (name.size() != prefix.size() + 16 || name.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    const char c = name[i];
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;  // upper case never comes from hex_name: not ours
    }
    value = value << 4 | digit;
  }
  if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(value);
}

}  // namespace weir::coord::zab
