// Condition waits for ZAB's roles: suspend until a predicate holds, something changed, or a
// deadline passes. State changes fire the WaitList; predicates are re-checked after each wake.
#pragma once

#include "runtime/future.h"
#include "runtime/scheduler.h"

namespace weir::coord::zab {

// Returns pred() once it holds, or false at `deadline` (scheduler time). Throws Cancelled.
template <class Pred>
bool wait_until(WaitList& changed, Pred pred, TimePoint deadline) {
  Scheduler& s = Scheduler::current();
  Actor* me = s.current_actor();
  while (!pred()) {
    if (s.now() >= deadline) return false;
    bool expired = false;
    const TimerKey timer = s.add_timer(deadline, [&expired, &s, me] {
      expired = true;
      s.wake(me);
    });
    // The timer points into this frame: cancel it however we leave (wake, or Cancelled).
    struct CancelTimer {
      Scheduler& s;
      const TimerKey& key;
      const bool& expired;
      ~CancelTimer() {
        if (!expired) s.cancel_timer(key);
      }
    } guard{s, timer, expired};
    ActorWaiter waiter(me);
    changed.push_back(&waiter);
    s.suspend();
  }
  return true;
}

}  // namespace weir::coord::zab
