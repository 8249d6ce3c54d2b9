// A bounded FIFO between actors. send() suspends while the channel is full (backpressure);
// receive() suspends while it is empty. Closing wakes everyone.
#pragma once

#include <deque>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/assert.h"
#include "runtime/scheduler.h"
#include "runtime/time.h"

namespace weir {

template <class T>
class Channel {
 public:
  explicit Channel(size_t capacity_max) : capacity_max_(capacity_max) {
    WEIR_ASSERT(capacity_max > 0);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Suspends while full. FailedPrecondition once closed. Throws Cancelled.
  absl::Status send(T value) {
    Scheduler& s = Scheduler::current();
    while (!closed_ && items_.size() >= capacity_max_) {
      ActorWaiter waiter(s.current_actor());
      senders_.push_back(&waiter);
      s.suspend();
    }
    if (closed_) return absl::FailedPreconditionError("channel closed");
    push(std::move(value));
    return absl::OkStatus();
  }

  // Never suspends: false when full or closed (the value is left untouched).
  bool try_send(T& value) {
    if (closed_ || items_.size() >= capacity_max_) return false;
    push(std::move(value));
    return true;
  }

  // Suspends while empty and open. OutOfRange once closed and drained. Throws Cancelled.
  absl::StatusOr<T> receive() {
    Scheduler& s = Scheduler::current();
    while (items_.empty() && !closed_) {
      ActorWaiter waiter(s.current_actor());
      receivers_.push_back(&waiter);
      s.suspend();
    }
    if (items_.empty()) return absl::OutOfRangeError("channel closed");
    T value = std::move(items_.front());
    items_.pop_front();
    senders_.fire_one();
    return value;
  }

  // Like receive(), but DeadlineExceeded if nothing arrives within `d` (scheduler time).
  absl::StatusOr<T> receive_for(Duration d) {
    Scheduler& s = Scheduler::current();
    WakeTimer timer(s.now() + d);
    while (items_.empty() && !closed_ && !timer.expired()) {
      ActorWaiter waiter(s.current_actor());
      receivers_.push_back(&waiter);
      s.suspend();
    }
    if (items_.empty()) {
      return closed_ ? absl::OutOfRangeError("channel closed")
                     : absl::DeadlineExceededError("nothing received in time");
    }
    T value = std::move(items_.front());
    items_.pop_front();
    senders_.fire_one();
    return value;
  }

  void close() {
    closed_ = true;
    receivers_.fire_all();
    senders_.fire_all();
  }

  bool closed() const { return closed_; }
  size_t size() const { return items_.size(); }
  size_t capacity_max() const { return capacity_max_; }

 private:
  void push(T value) {
    items_.push_back(std::move(value));
    receivers_.fire_one();
  }

  std::deque<T> items_;
  WaitList senders_;
  WaitList receivers_;
  size_t capacity_max_;
  bool closed_ = false;
};

}  // namespace weir
