#include "runtime/sync.h"

namespace weir {
namespace {

// A waiter that, once fired, owns what it waited for (the lock or a permit): ownership
// passes directly, never through a free state a newcomer could grab.
class GrantWaiter final : public WaitNode {
 public:
  explicit GrantWaiter(Actor* actor) : actor_(actor) {}
  void fire() override {
    granted = true;
    Scheduler::current().wake(actor_);
  }
  bool granted = false;

 private:
  Actor* actor_;
};

// Suspends until `waiter` is granted. A waiter cancelled after its grant hands it back
// through `give_back` before the Cancelled goes on.
template <class GiveBack>
void await_grant(WaitList& list, GiveBack give_back) {
  Scheduler& s = Scheduler::current();
  GrantWaiter waiter(s.current_actor());
  list.push_back(&waiter);
  try {
    while (!waiter.granted) s.suspend();
  } catch (const Cancelled&) {
    if (waiter.granted) give_back();
    throw;
  }
}

}  // namespace

void wait_on(WaitList& list) {
  Scheduler& s = Scheduler::current();
  ActorWaiter waiter(s.current_actor());
  list.push_back(&waiter);
  s.suspend();
}

ActorMutex::~ActorMutex() {
  WEIR_ASSERT_MSG(!locked_ && waiters_.empty(), "ActorMutex destroyed while in use");
}

void ActorMutex::lock() {
  if (!locked_) {
    locked_ = true;
    return;
  }
  await_grant(waiters_, [this] { unlock(); });
}

void ActorMutex::unlock() {
  WEIR_ASSERT_MSG(locked_, "unlock of an unlocked ActorMutex");
  if (!waiters_.fire_one()) locked_ = false;
}

bool ActorSemaphore::try_acquire() {
  if (in_use_ >= permits_ || !waiters_.empty()) return false;
  ++in_use_;
  return true;
}

void ActorSemaphore::acquire() {
  if (try_acquire()) return;
  // release() keeps counting the permit it hands to a waiter in in_use_.
  await_grant(waiters_, [this] { release(); });
}

void ActorSemaphore::release() {
  WEIR_ASSERT_MSG(in_use_ > 0, "semaphore released more often than acquired");
  if (!waiters_.fire_one()) --in_use_;
}

}  // namespace weir
