// Time as the runtime sees it: a monotonic clock with nanosecond ticks since the start of the
// run (simulated or real). Never wall-clock time.
#pragma once

#include <chrono>
#include <cstdint>

namespace weir {

using Duration = std::chrono::nanoseconds;

// A clock type that exists only to give TimePoint its own identity; it has no now():
// time comes from the runtime (IClock, Scheduler), never from a global.
struct RuntimeClock {
  using duration = Duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<RuntimeClock, Duration>;
  static constexpr bool is_steady = true;
};
using TimePoint = RuntimeClock::time_point;

using std::chrono_literals::operator""ns;
using std::chrono_literals::operator""us;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

inline double to_seconds(Duration d) {
  return static_cast<double>(d.count()) / 1e9;
}
inline double to_seconds(TimePoint t) {
  return to_seconds(t.time_since_epoch());
}
inline Duration from_seconds(double s) {
  return Duration(static_cast<int64_t>(s * 1e9));
}
inline int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace weir
