// A machine's clock in the simulation: it runs at a slightly wrong rate (drift) from an
// arbitrary origin, so code that compares clocks across machines is exercised as in reality.
// Its wall clock is the same local time counted from a fixed date, never the host's clock, so
// timestamps are deterministic and machines' wall clocks disagree by their origins (skew).
#pragma once

#include <cmath>
#include <cstdint>

#include "runtime/clock.h"
#include "runtime/scheduler.h"

namespace weir::sim {

// Wall-clock time of local time zero: 2026-01-01T00:00:00Z, in ms since the Unix epoch.
inline constexpr int64_t kSimWallEpochMs = 1'767'225'600'000;

class SimClock final : public IClock {
 public:
  // `rate` is local seconds per scheduler second (1 +- drift); `origin` is local time at 0.
  SimClock(const Scheduler& scheduler, double rate, Duration origin)
      : scheduler_(scheduler), rate_(rate), origin_(origin) {}
  TimePoint now() const override {
    const double global = static_cast<double>(scheduler_.now().time_since_epoch().count());
    return TimePoint(origin_ + Duration(static_cast<int64_t>(global * rate_)));
  }
  Duration to_scheduler(Duration local) const override {
    return Duration(static_cast<int64_t>(std::ceil(static_cast<double>(local.count()) / rate_)));
  }
  int64_t wall_ms() const override { return kSimWallEpochMs + to_ms(now().time_since_epoch()); }
  double rate() const { return rate_; }

 private:
  const Scheduler& scheduler_;
  double rate_;
  Duration origin_;
};

}  // namespace weir::sim
