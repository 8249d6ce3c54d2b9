// Mutual exclusion between actors of one thread (a suspended actor keeps the lock). The real
// runtime uses it to keep concurrent writes to one socket from interleaving, and concurrent
// appends to one file from racing for the same end offset.
#pragma once

#include "runtime/scheduler.h"
#include "runtime/wait_list.h"

namespace weir::real {

// FIFO-ish actor lock: unlock() wakes one waiter; a waiter cancelled after being woken passes
// the wake-up on, so no waiter is ever stranded.
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

}  // namespace weir::real
