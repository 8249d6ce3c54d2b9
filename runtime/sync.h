// Synchronisation between the actors of one thread: a FIFO mutex, a FIFO counting semaphore
// and condition waits with an optional deadline. Every one of them is fair (first come, first
// served) and cancellation-safe: an actor cancelled while waiting leaves nothing registered,
// and one cancelled after being handed the lock or a permit passes it on, so nobody is ever
// stranded. There is one of each so that every module waits the same way.
#pragma once

#include <cstddef>

#include "runtime/assert.h"
#include "runtime/scheduler.h"
#include "runtime/time.h"
#include "runtime/wait_list.h"

namespace weir {

// Suspends the calling actor once, until something fires `list`. Throws Cancelled. Callers
// re-check their condition in a loop (or use wait_for / wait_until).
void wait_on(WaitList& list);

// Suspends until pred() holds; `changed` is fired by whoever may make it true. Throws
// Cancelled.
template <class Pred>
void wait_for(WaitList& changed, Pred pred) {
  while (!pred()) wait_on(changed);
}

// Returns true once pred() holds, or false when `deadline` (scheduler time) passes first.
// Throws Cancelled.
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

// Mutual exclusion across suspensions (an actor suspended in file or socket I/O keeps the
// lock). Strictly FIFO: unlock() hands the lock to the oldest waiter without it ever being
// free, so no newcomer overtakes the queue, and actors that lock in some order (appends in
// zxid order) hold it in that order.
class ActorMutex {
 public:
  ActorMutex() = default;
  ActorMutex(const ActorMutex&) = delete;
  ActorMutex& operator=(const ActorMutex&) = delete;
  ~ActorMutex();

  // Suspends while another actor holds the lock. Throws Cancelled (without the lock).
  void lock();
  void unlock();
  bool locked() const { return locked_; }

  // Holds the lock for a scope.
  class Guard {
   public:
    explicit Guard(ActorMutex& mutex) : mutex_(mutex) { mutex_.lock(); }
    ~Guard() { mutex_.unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    ActorMutex& mutex_;
  };

 private:
  WaitList waiters_;
  bool locked_ = false;
};

// Bounds how many things run at once (calls per peer, requests per connection). FIFO: a
// release hands its permit straight to the oldest waiter.
class ActorSemaphore {
 public:
  explicit ActorSemaphore(size_t permits) : permits_(permits) { WEIR_ASSERT(permits > 0); }
  ActorSemaphore(const ActorSemaphore&) = delete;
  ActorSemaphore& operator=(const ActorSemaphore&) = delete;

  // Suspends while every permit is taken. Throws Cancelled (without a permit).
  void acquire();
  // Takes a permit if one is free and nobody waits for one.
  bool try_acquire();
  void release();
  size_t in_use() const { return in_use_; }
  size_t permits() const { return permits_; }

  // Holds one permit for as long as it lives; copies are not allowed, so share it by pointer
  // when a permit must outlive the actor that took it.
  class Lease {
   public:
    explicit Lease(ActorSemaphore& s) : s_(s) { s_.acquire(); }
    ~Lease() { s_.release(); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    ActorSemaphore& s_;
  };

 private:
  size_t permits_;
  size_t in_use_ = 0;
  WaitList waiters_;
};

}  // namespace weir
