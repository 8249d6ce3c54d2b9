#include "runtime/real/real_clock.h"

#include <sys/random.h>
#include <time.h>

#include <cerrno>

#include "runtime/assert.h"

namespace weir::real {
namespace {

int64_t monotonic_ns() {
  timespec ts{};
  WEIR_ASSERT(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t base_ns() {
  static const int64_t base = monotonic_ns();
  return base;
}

// Fixes the base at static initialisation, so that time counts from process start.
[[maybe_unused]] const int64_t g_base_at_start = base_ns();

}  // namespace

TimePoint steady_now() {
  return TimePoint(Duration(monotonic_ns() - base_ns()));
}

int64_t wall_now_ms() {
  timespec ts{};
  WEIR_ASSERT(clock_gettime(CLOCK_REALTIME, &ts) == 0);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

uint64_t OsRandom::os_seed() {
  uint64_t seed = 0;
  size_t got = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&seed);
  while (got < sizeof(seed)) {
    const ssize_t n = getrandom(bytes + got, sizeof(seed) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    WEIR_ASSERT_MSG(n > 0, "getrandom(2) failed");
    got += static_cast<size_t>(n);
  }
  return seed;
}

}  // namespace weir::real
