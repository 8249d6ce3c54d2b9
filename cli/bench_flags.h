// The flag parsing every `weir bench` command shares: `--name value` pairs looked up in one
// table of setters, plus the value-less `--json`. One place, so every benchmark refuses an
// unknown flag, a missing value and a bad value the same way.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"

namespace weir::cli {

using FlagSetter = std::function<bool(const std::string&)>;
using FlagTable = std::map<std::string, FlagSetter>;

// A setter that parses a number into `out` (floating point: non-negative).
template <class T>
FlagSetter number_into(T* out) {
  return [out](const std::string& v) {
    if constexpr (std::is_floating_point_v<T>) {
      return absl::SimpleAtod(v, out) && *out >= 0;
    } else {
      return absl::SimpleAtoi(v, out);
    }
  };
}

// Applies every `--flag value` of `args` through `flags`; `--json` sets *json.
absl::Status parse_bench_flags(const std::vector<std::string>& args, const FlagTable& flags,
                               bool* json);

}  // namespace weir::cli
