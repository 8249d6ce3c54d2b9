#include "coord/zab/storage/actor_lock.h"

#include "runtime/assert.h"

namespace weir::coord::zab {
namespace {

// A waiter that, when fired, owns the lock: ownership passes without the lock ever being
// free, so no newcomer can overtake the queue.
class LockWaiter final : public WaitNode {
 public:
  explicit LockWaiter(Actor* actor) : actor_(actor) {}
  void fire() override {
    granted = true;
    Scheduler::current().wake(actor_);
  }
  bool granted = false;

 private:
  Actor* actor_;
};

}  // namespace

ActorLock::~ActorLock() {
  WEIR_ASSERT_MSG(!locked_ && waiters_.empty(), "ActorLock destroyed while in use");
}

void ActorLock::lock() {
  if (!locked_) {
    locked_ = true;
    return;
  }
  Scheduler& s = Scheduler::current();
  LockWaiter waiter(s.current_actor());
  waiters_.push_back(&waiter);
  try {
    while (!waiter.granted) s.suspend();
  } catch (const Cancelled&) {
    // Granted but cancelled before running: pass the lock on, or it would stay held forever.
    if (waiter.granted) unlock();
    throw;
  }
}

void ActorLock::unlock() {
  WEIR_ASSERT_MSG(locked_, "unlock of an unlocked ActorLock");
  if (!waiters_.fire_one()) locked_ = false;
}

}  // namespace weir::coord::zab
