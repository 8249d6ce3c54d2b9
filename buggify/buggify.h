// BUGGIFY: code-level fault points, with FoundationDB's semantics. In a simulation each site is
// enabled once per seed with probability 0.25 and then fires with probability 0.25 (or p with
// BUGGIFY_WITH_PROB(p)); outside simulation BUGGIFY is always false. Site enablement is a pure
// function of (seed, file, line), so it does not depend on the order sites are first reached.
#pragma once

#include <cstdint>

#include "runtime/random.h"

namespace weir::buggify {

// Turns BUGGIFY on for a simulation. `random` must be the simulation's seeded generator.
void enable(uint64_t seed, IRandom* random);
void disable();
bool enabled();
// True with probability p_fire if the site is enabled for this seed.
bool fire(const char* file, int line, double p_fire);
uint64_t fired_count();

}  // namespace weir::buggify

#define BUGGIFY_WITH_PROB(p) \
  (::weir::buggify::enabled() && ::weir::buggify::fire(__FILE__, __LINE__, (p)))
#define BUGGIFY BUGGIFY_WITH_PROB(0.25)
