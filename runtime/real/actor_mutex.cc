#include "runtime/real/actor_mutex.h"

#include "runtime/assert.h"

namespace weir::real {

ActorMutex::~ActorMutex() {
  WEIR_ASSERT_MSG(!locked_ && waiters_.empty(), "ActorMutex destroyed while in use");
}

void ActorMutex::lock() {
  Scheduler& s = Scheduler::current();
  while (locked_) {
    ActorWaiter waiter(s.current_actor());
    waiters_.push_back(&waiter);
    try {
      s.suspend();
    } catch (const Cancelled&) {
      // Woken by unlock() but cancelled before taking the lock: hand the wake-up on.
      if (!waiter.linked() && !locked_) waiters_.fire_one();
      throw;
    }
  }
  locked_ = true;
}

void ActorMutex::unlock() {
  WEIR_ASSERT_MSG(locked_, "unlock of an unlocked ActorMutex");
  locked_ = false;
  waiters_.fire_one();
}

}  // namespace weir::real
