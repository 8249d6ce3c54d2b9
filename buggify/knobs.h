// Knobs: tunable integers (timeouts, batch sizes) with a valid range. A simulation randomizes
// some of them within their range per seed, so code is tested at the edges of its settings;
// the values a run used are written to its replay file and set again on replay.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "runtime/random.h"

namespace weir {

class Knob {
 public:
  // Registers itself; knobs are global objects defined next to the code that reads them.
  Knob(const char* name, int64_t default_value, int64_t min_value, int64_t max_value);
  Knob(const Knob&) = delete;
  Knob& operator=(const Knob&) = delete;
  int64_t get() const { return value_; }
  operator int64_t() const { return value_; }
  const char* name() const { return name_; }
  int64_t default_value() const { return default_; }
  int64_t min_value() const { return min_; }
  int64_t max_value() const { return max_; }

 private:
  friend class Knobs;
  const char* name_;
  int64_t value_;
  int64_t default_;
  int64_t min_;
  int64_t max_;
};

// The registry of all knobs, by name (ordered: randomization order is deterministic).
class Knobs {
 public:
  static std::map<std::string, Knob*>& all();
  // Each knob: keep the default, or (probability p_change) draw within its range.
  static void randomize(IRandom& random, double p_change);
  static void reset_defaults();
  static absl::Status set(const std::string& name, int64_t value);
  // Knobs whose value differs from the default.
  static std::map<std::string, int64_t> changed();
};

}  // namespace weir
