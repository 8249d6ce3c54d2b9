#include "buggify/knobs.h"

#include "runtime/assert.h"

namespace weir {

Knob::Knob(const char* name, int64_t default_value, int64_t min_value, int64_t max_value)
    : name_(name),
      value_(default_value),
      default_(default_value),
      min_(min_value),
      max_(max_value) {
  WEIR_ASSERT(min_value <= default_value && default_value <= max_value);
  auto [it, inserted] = Knobs::all().emplace(name, this);
  WEIR_ASSERT_MSG(inserted, name);
}

std::map<std::string, Knob*>& Knobs::all() {
  static std::map<std::string, Knob*> knobs;
  return knobs;
}

void Knobs::randomize(IRandom& random, double p_change) {
  for (auto& [name, knob] : all()) {
    if (!random.coinflip(p_change)) continue;
    // Half the time an edge of the range: edges are where bugs live.
    const uint64_t pick = random.below(4);
    if (pick == 0) {
      knob->value_ = knob->min_;
    } else if (pick == 1) {
      knob->value_ = knob->max_;
    } else {
      knob->value_ = random.uniform_int(knob->min_, knob->max_);
    }
  }
}

void Knobs::reset_defaults() {
  for (auto& [name, knob] : all()) knob->value_ = knob->default_;
}

absl::Status Knobs::set(const std::string& name, int64_t value) {
  auto it = all().find(name);
  if (it == all().end()) return absl::NotFoundError("unknown knob " + name);
  Knob* k = it->second;
  if (value < k->min_ || value > k->max_) {
    return absl::OutOfRangeError("knob " + name + " out of range");
  }
  k->value_ = value;
  return absl::OkStatus();
}

std::map<std::string, int64_t> Knobs::changed() {
  std::map<std::string, int64_t> out;
  for (auto& [name, knob] : all()) {
    if (knob->value_ != knob->default_) out[name] = knob->value_;
  }
  return out;
}

}  // namespace weir
