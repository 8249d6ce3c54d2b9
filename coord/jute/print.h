// Human-readable printing of jute records, for trace events, test failures and RapidCheck
// counterexamples: "CreateRequest{path=\"/a\", data=\"x\\00\", acl=[...], flags=EPHEMERAL(1)}".
// Bytes are escaped and long buffers truncated, so hostile input cannot flood a log.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "coord/ids.h"

namespace weir::coord::jute {

// Quotes and escapes bytes, showing at most 64 of them.
void print_bytes(std::ostream& os, std::string_view bytes);

inline void print_value(std::ostream& os, const std::string& v) {
  print_bytes(os, v);
}
inline void print_value(std::ostream& os, bool v) {
  os << (v ? "true" : "false");
}
inline void print_value(std::ostream& os, Zxid v) {
  os << "0x" << std::hex << static_cast<uint64_t>(v.value()) << std::dec;
}
inline void print_value(std::ostream& os, SessionId v) {
  os << "0x" << std::hex << static_cast<uint64_t>(v.value()) << std::dec;
}
// Integers, enums (their operator<< prints name and number) and nested records.
template <class T>
void print_value(std::ostream& os, const T& v) {
  os << v;
}
template <class T>
void print_value(std::ostream& os, const std::optional<T>& v) {
  if (!v.has_value()) {
    os << "absent";
  } else {
    print_value(os, *v);
  }
}
template <class T>
void print_value(std::ostream& os, const std::vector<T>& v) {
  os << '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) os << ", ";
    print_value(os, v[i]);
  }
  os << ']';
}

template <class R>
std::ostream& print_record(std::ostream& os, const R& record) {
  os << R::kName << '{';
  bool first = true;
  record.for_each_field([&](std::string_view name, const auto& value) {
    if (!first) os << ", ";
    first = false;
    os << name << '=';
    print_value(os, value);
  });
  return os << '}';
}

}  // namespace weir::coord::jute
