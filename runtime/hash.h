// A fast, unsalted, stable 64-bit hash for unseeds and digests. Unlike absl::Hash it is the
// same in every process and on every run, which is the whole point.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace weir {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t hash_combine(uint64_t h, uint64_t v) {
  return mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

inline uint64_t hash_bytes(uint64_t h, std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = hash_combine(h, w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  return hash_combine(h, tail ^ (static_cast<uint64_t>(s.size()) << 56));
}

}  // namespace weir
