#include "sim/faults/options.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "runtime/assert.h"

namespace weir::sim {
namespace {

absl::StatusOr<double> parse_number(std::string_view text) {
  double value = 0;
  // Debian's Abseil has its own string_view, hence the std::string copies.
  const std::string s(text);
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(s), &value) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(absl::StrCat("not a finite number: '", s, "'"));
  }
  return value;
}

absl::Status check_bounds(const OptionSpec& spec, Range r) {
  if (r.lo < spec.min || r.hi > spec.max) {
    return absl::InvalidArgumentError(absl::StrCat("option ", std::string(spec.name), " = ",
                                                   format_range(r), " is outside [", spec.min, ", ",
                                                   spec.max, "]"));
  }
  if (spec.kind == OptionKind::kCount && (r.lo != std::floor(r.lo) || r.hi != std::floor(r.hi))) {
    return absl::InvalidArgumentError(
        absl::StrCat("option ", std::string(spec.name), " must be an integer or integer range"));
  }
  return absl::OkStatus();
}

const OptionSpec* find_spec(std::span<const OptionSpec> schema, std::string_view name) {
  for (const OptionSpec& spec : schema) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string option_names(std::span<const OptionSpec> schema) {
  return absl::StrJoin(schema, ", ",
                       [](std::string* out, const OptionSpec& s) { out->append(s.name); });
}

}  // namespace

absl::StatusOr<Range> parse_range(std::string_view text) {
  const size_t dots = text.find("..");
  if (dots == std::string_view::npos) {
    auto value = parse_number(text);
    if (!value.ok()) return value.status();
    return Range{*value, *value};
  }
  auto lo = parse_number(text.substr(0, dots));
  if (!lo.ok()) return lo.status();
  auto hi = parse_number(text.substr(dots + 2));
  if (!hi.ok()) return hi.status();
  if (*lo > *hi) {
    return absl::InvalidArgumentError(absl::StrCat("empty range '", std::string(text), "'"));
  }
  return Range{*lo, *hi};
}

absl::StatusOr<InjectorOptions> InjectorOptions::parse(
    std::span<const OptionSpec> schema, const std::map<std::string, std::string>& given,
    bool swarm) {
  InjectorOptions out;
  for (const auto& [name, text] : given) {
    const OptionSpec* spec = find_spec(schema, name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option '", name, "' (valid: ", option_names(schema), ")"));
    }
    auto r = parse_range(text);
    if (!r.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("option ", name, ": ", r.status().message()));
    }
    if (auto s = check_bounds(*spec, *r); !s.ok()) return s;
    out.ranges_[name] = *r;
  }
  for (const OptionSpec& spec : schema) {
    out.kinds_[std::string(spec.name)] = spec.kind;
    if (out.ranges_.contains(spec.name)) continue;
    const std::string_view fallback = swarm ? spec.swarm_fallback : spec.fallback;
    if (fallback.empty()) continue;
    auto r = parse_range(fallback);
    // Defaults are compiled in: a bad one is a bug here, not in the spec.
    WEIR_ASSERT_MSG(r.ok() && check_bounds(spec, *r).ok(), spec.name);
    out.ranges_[std::string(spec.name)] = *r;
  }
  return out;
}

void InjectorOptions::narrow_for_seed(IRandom& random) {
  // Ordered by name, so the draws happen in the same order on every build.
  for (auto& [name, r] : ranges_) {
    if (r.fixed()) continue;
    switch (kinds_.at(name)) {
      case OptionKind::kIntensity:
        r.lo = r.hi = r.lo + (r.hi - r.lo) * random.uniform01();
        break;
      case OptionKind::kPerFault:
        r.hi = r.lo + (r.hi - r.lo) * random.uniform01();
        break;
      case OptionKind::kCount:
        r.lo = r.hi = static_cast<double>(
            random.uniform_int(static_cast<int64_t>(r.lo), static_cast<int64_t>(r.hi)));
        break;
    }
  }
}

bool InjectorOptions::has(std::string_view name) const {
  return ranges_.contains(name);
}

Range InjectorOptions::range(std::string_view name) const {
  auto it = ranges_.find(name);
  WEIR_ASSERT_MSG(it != ranges_.end(), name);
  return it->second;
}

double InjectorOptions::draw(std::string_view name, IRandom& random) const {
  const Range r = range(name);
  if (r.fixed()) return r.lo;
  return r.lo + (r.hi - r.lo) * random.uniform01();
}

Duration InjectorOptions::draw_seconds(std::string_view name, IRandom& random) const {
  return from_seconds(draw(name, random));
}

int64_t InjectorOptions::draw_count(std::string_view name, IRandom& random) const {
  const Range r = range(name);
  if (r.fixed()) return static_cast<int64_t>(r.lo);
  return random.uniform_int(static_cast<int64_t>(r.lo), static_cast<int64_t>(r.hi));
}

std::string format_range(Range r) {
  if (r.fixed()) return absl::StrFormat("%g", r.lo);
  return absl::StrFormat("%g..%g", r.lo, r.hi);
}

}  // namespace weir::sim
