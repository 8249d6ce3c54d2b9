// Real time and real randomness for the binaries. The real build reads CLOCK_MONOTONIC for all
// timing: scheduler time and every process clock are the same steady time base, which starts
// near zero when the process starts. Only IClock::wall_ms reads the wall clock (timestamps).
#pragma once

#include <cstdint>

#include "runtime/clock.h"
#include "runtime/random.h"
#include "runtime/time.h"

namespace weir::real {

// CLOCK_MONOTONIC as a TimePoint measured from the process's first use of the clock.
TimePoint steady_now();

// CLOCK_REALTIME in milliseconds since the Unix epoch.
int64_t wall_now_ms();

// IClock of a real process: the steady clock, with no drift (to_scheduler is the identity).
class RealClock final : public IClock {
 public:
  TimePoint now() const override { return steady_now(); }
  int64_t wall_ms() const override { return wall_now_ms(); }
};

// IRandom of a real process: xoshiro256** seeded from getrandom(2), so that every run differs
// but the draws follow the same code path (and helpers) as the simulation's generator.
class OsRandom final : public IRandom {
 public:
  OsRandom() : OsRandom(os_seed()) {}
  explicit OsRandom(uint64_t seed) : seed_(seed), rng_(seed) {}
  uint64_t next_u64() override { return rng_.next_u64(); }
  // The seed drawn at construction (worth logging: it reproduces the sequence).
  uint64_t seed() const { return seed_; }
  // 64 bits from getrandom(2).
  static uint64_t os_seed();

 private:
  uint64_t seed_;
  DeterministicRandom rng_;
};

}  // namespace weir::real
