// Typed access to a workload's string options (from a spec), with defaults, ranges and an
// error for every option nobody asked for (a typo in a spec must not pass silently).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/status/status.h"

namespace weir {

class WorkloadOptions {
 public:
  explicit WorkloadOptions(std::map<std::string, std::string> options)
      : options_(std::move(options)) {}

  int64_t get_int(const std::string& name, int64_t default_value, int64_t min_value,
                  int64_t max_value);
  double get_double(const std::string& name, double default_value, double min_value,
                    double max_value);
  std::string get_string(const std::string& name, const std::string& default_value);
  bool get_bool(const std::string& name, bool default_value);
  // The first error met, or an error naming options that were never read.
  absl::Status finish() const;

 private:
  std::map<std::string, std::string> options_;
  std::set<std::string> used_;
  absl::Status error_;
};

}  // namespace weir
