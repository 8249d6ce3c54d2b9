// An event source whose time moves only when the scheduler has nothing to run: it jumps
// straight to the next timer. The simulator's clock, and the clock of runtime unit tests.
#pragma once

#include "runtime/scheduler.h"

namespace weir {

class VirtualTimeSource final : public IEventSource {
 public:
  TimePoint now() const override { return now_; }
  bool wait(std::optional<TimePoint> deadline) override {
    if (!deadline) return false;  // nothing can ever happen: quiescent
    if (*deadline > now_) now_ = *deadline;
    return true;
  }

 private:
  TimePoint now_{};
};

}  // namespace weir
