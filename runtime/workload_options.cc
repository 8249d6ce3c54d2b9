#include "runtime/workload_options.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace weir {

int64_t WorkloadOptions::get_int(const std::string& name, int64_t default_value, int64_t min_value,
                                 int64_t max_value) {
  used_.insert(name);
  auto it = options_.find(name);
  if (it == options_.end()) return default_value;
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v) || v < min_value || v > max_value) {
    if (error_.ok()) {
      error_ = absl::InvalidArgumentError(absl::StrCat("option ", name, "=", it->second,
                                                       ": want an integer in [", min_value, ", ",
                                                       max_value, "]"));
    }
    return default_value;
  }
  return v;
}

double WorkloadOptions::get_double(const std::string& name, double default_value, double min_value,
                                   double max_value) {
  used_.insert(name);
  auto it = options_.find(name);
  if (it == options_.end()) return default_value;
  double v = 0;
  if (!absl::SimpleAtod(it->second, &v) || v < min_value || v > max_value) {
    if (error_.ok()) {
      error_ = absl::InvalidArgumentError(absl::StrCat("option ", name, "=", it->second,
                                                       ": want a number in [", min_value, ", ",
                                                       max_value, "]"));
    }
    return default_value;
  }
  return v;
}

std::string WorkloadOptions::get_string(const std::string& name, const std::string& default_value) {
  used_.insert(name);
  auto it = options_.find(name);
  return it == options_.end() ? default_value : it->second;
}

bool WorkloadOptions::get_bool(const std::string& name, bool default_value) {
  used_.insert(name);
  auto it = options_.find(name);
  if (it == options_.end()) return default_value;
  if (it->second == "true" || it->second == "1") return true;
  if (it->second == "false" || it->second == "0") return false;
  if (error_.ok()) error_ = absl::InvalidArgumentError("option " + name + ": want true or false");
  return default_value;
}

absl::Status WorkloadOptions::finish() const {
  if (!error_.ok()) return error_;
  for (const auto& [name, value] : options_) {
    if (!used_.count(name)) return absl::InvalidArgumentError("unknown option " + name);
  }
  return absl::OkStatus();
}

}  // namespace weir
