#include "runtime/random.h"

#include <cmath>

#include "runtime/assert.h"

namespace weir {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t IRandom::below(uint64_t n) {
  WEIR_ASSERT(n > 0);
  // Lemire-free simple rejection: discard the biased top slice.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return x % n;
}

int64_t IRandom::uniform_int(int64_t lo, int64_t hi) {
  WEIR_ASSERT(lo <= hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(next_u64());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + below(span + 1));
}

double IRandom::uniform01() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

bool IRandom::coinflip(double p_true) {
  return uniform01() < p_true;
}

double IRandom::exponential(double mean) {
  return -mean * std::log1p(-uniform01());
}

Duration IRandom::uniform_duration(Duration lo, Duration hi) {
  return Duration(uniform_int(lo.count(), hi.count()));
}

std::string IRandom::random_id(size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(length, 'a');
  for (char& c : out) c = kAlphabet[below(sizeof(kAlphabet) - 1)];
  return out;
}

DeterministicRandom::DeterministicRandom(uint64_t seed) {
  uint64_t st = seed;
  for (uint64_t& word : s_) word = splitmix64(st);
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t DeterministicRandom::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

DeterministicRandom DeterministicRandom::fork() {
  return DeterministicRandom(next_u64());
}

}  // namespace weir
