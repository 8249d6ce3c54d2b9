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
  while (!pred()) {
    if (s.now() >= deadline) return false;
    WakeTimer timer(deadline);
    ActorWaiter waiter(s.current_actor());
    changed.push_back(&waiter);
    s.suspend();
  }
  return true;
}

}  // namespace weir::coord::zab
