#include "buggify/buggify.h"

#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "runtime/hash.h"

namespace weir::buggify {
namespace {

struct State {
  bool enabled = false;
  uint64_t seed = 0;
  IRandom* random = nullptr;
  uint64_t fired = 0;
  std::map<std::pair<std::string, int>, bool> sites;
};

State& state() {
  static State s;
  return s;
}

// The file's base name only: the same source gives the same sites from any checkout path.
std::string_view base_name(const char* file) {
  const char* slash = std::strrchr(file, '/');
  return slash != nullptr ? std::string_view(slash + 1) : std::string_view(file);
}

}  // namespace

void enable(uint64_t seed, IRandom* random) {
  State& s = state();
  s = State{};
  s.enabled = true;
  s.seed = seed;
  s.random = random;
}

void disable() {
  state() = State{};
}

bool enabled() {
  return state().enabled;
}

uint64_t fired_count() {
  return state().fired;
}

bool fire(const char* file, int line, double p_fire) {
  State& s = state();
  const std::string_view base = base_name(file);
  auto [it, inserted] = s.sites.try_emplace({std::string(base), line}, false);
  if (inserted) {
    const uint64_t h = hash_combine(hash_bytes(s.seed ^ 0xb066, base), static_cast<uint64_t>(line));
    it->second = static_cast<double>(h >> 11) * 0x1.0p-53 < 0.25;
  }
  if (!it->second || !s.random->coinflip(p_fire)) return false;
  ++s.fired;
  return true;
}

}  // namespace weir::buggify
