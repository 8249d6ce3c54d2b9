// A machine's clock in the simulation: it runs at a slightly wrong rate (drift) from an
// arbitrary origin, so code that compares clocks across machines is exercised as in reality.
#pragma once

#include <cmath>

#include "runtime/clock.h"
#include "runtime/scheduler.h"

namespace weir::sim {

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
  double rate() const { return rate_; }

 private:
  const Scheduler& scheduler_;
  double rate_;
  Duration origin_;
};

}  // namespace weir::sim
