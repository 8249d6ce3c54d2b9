// Mutual exclusion between the actors that share one store. A TxnLog is used by several actors
// at once (a leader's broadcast actor appends and syncs while learner handlers read for DIFF),
// and every call suspends in the middle of file I/O, so two calls must never interleave.
// Strictly first come, first served: unlock() hands the lock to the oldest waiter, so actors
// that append in zxid order get the lock in that order too.
#pragma once

#include "runtime/scheduler.h"
#include "runtime/wait_list.h"

namespace weir::coord::zab {

class ActorLock {
 public:
  ActorLock() = default;
  ActorLock(const ActorLock&) = delete;
  ActorLock& operator=(const ActorLock&) = delete;
  ~ActorLock();

  // Suspends while another actor holds the lock. Throws Cancelled (without the lock).
  void lock();
  void unlock();
  bool locked() const { return locked_; }

  class Guard {
   public:
    explicit Guard(ActorLock& lock) : lock_(lock) { lock_.lock(); }
    ~Guard() { lock_.unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    ActorLock& lock_;
  };

 private:
  WaitList waiters_;
  bool locked_ = false;
};

}  // namespace weir::coord::zab
