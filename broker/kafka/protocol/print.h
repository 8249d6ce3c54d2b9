// Human-readable printing of any generated Kafka message, for trace events, test failures and
// RapidCheck counterexamples: "ProduceRequest{transactional_id=null, acks=-1, ...}". Strings are
// escaped and long ones cut, records show only their size, so hostile input cannot flood a log.
// Every field is printed, whichever version the message was decoded at.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "broker/kafka/protocol/wire.h"

namespace weir::kafka {

// Quotes and escapes bytes, showing at most 64 of them.
void print_bytes(std::ostream& os, std::string_view bytes);

inline void print_value(std::ostream& os, const std::string& v) {
  print_bytes(os, v);
}
inline void print_value(std::ostream& os, bool v) {
  os << (v ? "true" : "false");
}
// int8_t would print as a character.
inline void print_value(std::ostream& os, int8_t v) {
  os << static_cast<int>(v);
}
// Declared before any is defined: each may print the others (an optional vector of strings).
template <class T>
void print_value(std::ostream& os, const T& v);
template <class T>
void print_value(std::ostream& os, const std::optional<T>& v);
template <class T>
void print_value(std::ostream& os, const std::vector<T>& v);

template <class T>
void print_value(std::ostream& os, const T& v) {
  os << v;
}
template <class T>
void print_value(std::ostream& os, const std::optional<T>& v) {
  if (!v.has_value()) {
    os << "null";
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

// Any generated struct (found by argument-dependent lookup, nested types included).
template <class T>
requires requires(const T& t) {
  T::kName;
  T::min_encoded_size(int16_t{0});
}
std::ostream& operator<<(std::ostream& os, const T& message) {
  os << T::kName << '{';
  bool first = true;
  for_each_field(message, [&](const FieldInfo& info, const auto& value) {
    if (!first) os << ", ";
    first = false;
    os << info.name << '=';
    print_value(os, value);
  });
  return os << '}';
}

}  // namespace weir::kafka
