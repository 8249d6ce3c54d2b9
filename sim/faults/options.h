// Injector options: every value is a number "2" or a range "0.5..5". A spec names an injector's
// intensity this way, and swarm mode turns each range into the seed's own intensity.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/random.h"
#include "runtime/time.h"

namespace weir::sim {

// A closed interval of option values; lo == hi for a fixed value.
struct Range {
  double lo = 0;
  double hi = 0;
  bool fixed() const { return lo == hi; }
  bool operator==(const Range&) const = default;
};

// How swarm mode narrows an option's range for one seed.
enum class OptionKind {
  // A rate, weight or probability: the seed gets one value drawn in the range.
  kIntensity,
  // Drawn again for every fault (durations, factors): the seed gets [lo, x] with x drawn in
  // the range, so some seeds only ever have short faults and others also long ones.
  kPerFault,
  // An integer intensity: the seed gets one integer drawn in the range.
  kCount,
};

// One option an injector accepts. Defaults differ by mode: outside swarm mode a spec that says
// nothing gets a moderate, predictable injector; in swarm mode the defaults are wide ranges.
struct OptionSpec {
  std::string_view name;
  OptionKind kind;
  std::string_view fallback;        // default outside swarm mode; "" means "absent"
  std::string_view swarm_fallback;  // default in swarm mode; "" means "absent"
  double min;                       // valid values, inclusive
  double max;
  std::string_view help;
};

// "2" -> [2, 2], "0.5..5" -> [0.5, 5]. Rejects junk, NaN, infinities and lo > hi.
absl::StatusOr<Range> parse_range(std::string_view text);

// The options of one injector instance, resolved for one seed. Outside swarm mode a range is
// used as given: every draw picks a value in it. In swarm mode it was narrowed per seed (see
// OptionKind) when the injector was built.
class InjectorOptions {
 public:
  // Checks names, syntax and bounds against `schema` and fills in defaults for `swarm`.
  // Consumes no randomness, so a rejected spec leaves the seed's random stream untouched.
  static absl::StatusOr<InjectorOptions> parse(std::span<const OptionSpec> schema,
                                               const std::map<std::string, std::string>& given,
                                               bool swarm);
  // Swarm mode: draws this seed's intensity within every range.
  void narrow_for_seed(IRandom& random);

  bool has(std::string_view name) const;
  Range range(std::string_view name) const;
  // A value within the option's range (no randomness consumed when the range is fixed).
  double draw(std::string_view name, IRandom& random) const;
  Duration draw_seconds(std::string_view name, IRandom& random) const;
  int64_t draw_count(std::string_view name, IRandom& random) const;
  // Every resolved option, by name (for tests and for the run's report).
  const std::map<std::string, Range, std::less<>>& ranges() const { return ranges_; }

 private:
  std::map<std::string, Range, std::less<>> ranges_;
  std::map<std::string, OptionKind, std::less<>> kinds_;
};

// "[0.5..5]" or "2", for fault descriptions and reports.
std::string format_range(Range r);

}  // namespace weir::sim
