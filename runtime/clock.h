// A process's view of time. The scheduler keeps one global time base; a process clock may
// drift from it (simulation), so durations are converted when timers are set.
#pragma once

#include <cstdint>

#include "runtime/time.h"

namespace weir {

class IClock {
 public:
  virtual ~IClock() = default;
  // Monotonic local time of this process.
  virtual TimePoint now() const = 0;
  // How long, in scheduler time, `local` of this clock lasts.
  virtual Duration to_scheduler(Duration local) const { return local; }
  // Wall-clock milliseconds since the Unix epoch, for timestamps people and other systems read
  // (znode ctime/mtime). It may jump backwards and differ between machines: never use it for
  // durations or timeouts (now() is for those).
  virtual int64_t wall_ms() const = 0;
};

}  // namespace weir
