// Randomness only through IRandom. The distributions are our own (std:: distributions differ
// between library versions), so a seed means the same run on every build of the same source.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/time.h"

namespace weir {

// Source of random bits for one process (or the whole simulation). The helpers on top are
// non-virtual so that every implementation draws values the same way.
class IRandom {
 public:
  virtual ~IRandom() = default;
  virtual uint64_t next_u64() = 0;

  // Uniform in [lo, hi] (inclusive). Unbiased (rejection sampling).
  int64_t uniform_int(int64_t lo, int64_t hi);
  // Uniform in [0, n). n > 0.
  uint64_t below(uint64_t n);
  // Uniform in [0, 1) with 53 bits.
  double uniform01();
  bool coinflip(double p_true);
  // Exponential with the given mean (inverse CDF of our own uniform01).
  double exponential(double mean);
  Duration uniform_duration(Duration lo, Duration hi);
  std::string random_id(size_t length);
};

// xoshiro256** seeded through splitmix64. Fast, 256-bit state, good statistics.
class DeterministicRandom final : public IRandom {
 public:
  explicit DeterministicRandom(uint64_t seed);
  uint64_t next_u64() override;
  // A new independent generator derived from this one (for per-process streams).
  DeterministicRandom fork();

 private:
  uint64_t s_[4];
};

uint64_t splitmix64(uint64_t& state);

}  // namespace weir
