// The real event source: the scheduler's clock is CLOCK_MONOTONIC and its idle wait is
// epoll_wait. File descriptors are registered edge-triggered (EPOLLET): a readiness change is
// reported once, so code must always try the syscall first and wait only after EAGAIN. Handlers
// run on the loop thread inside wait() and must only schedule work (wake actors), never suspend.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/scheduler.h"
#include "runtime/wait_list.h"

namespace weir::real {

// Receives the epoll events of one registered fd.
class IFdHandler {
 public:
  virtual void on_fd_events(uint32_t events) = 0;

 protected:
  ~IFdHandler() = default;
};

// IEventSource over epoll. wait() reports quiescence (returns false) only when there is no
// deadline and nothing holds the loop open: every actor blocked on an fd or on the I/O pool
// takes a hold (HoldGuard), so a program whose actors all wait on promises nobody can set ends
// instead of hanging.
class EpollEventSource final : public IEventSource {
 public:
  static constexpr size_t kEventsMax = 256;  // events taken per epoll_wait

  EpollEventSource();
  ~EpollEventSource() override;
  EpollEventSource(const EpollEventSource&) = delete;
  EpollEventSource& operator=(const EpollEventSource&) = delete;

  TimePoint now() const override;
  bool wait(std::optional<TimePoint> deadline) override;

  // Registers `fd` for `events` (EPOLLET is added). Returns the token for remove_fd().
  absl::StatusOr<uint64_t> add_fd(int fd, uint32_t events, IFdHandler* handler);
  // Deregisters; events already taken for it in the current batch are dropped.
  void remove_fd(int fd, uint64_t token);

  void hold() { ++holds_; }
  void release();
  size_t holds() const { return holds_; }
  size_t registered() const { return handlers_.size(); }
  uint64_t waits() const { return waits_; }

 private:
  void dispatch(const epoll_event* events, int count);
  void assert_loop_thread() const;

  int epoll_fd_ = -1;
  std::thread::id loop_thread_;
  absl::flat_hash_map<uint64_t, IFdHandler*> handlers_;  // token -> handler; lookups only
  uint64_t next_token_ = 1;
  size_t holds_ = 0;
  uint64_t waits_ = 0;
};

// Keeps the event source from reporting quiescence while it lives.
class HoldGuard {
 public:
  explicit HoldGuard(EpollEventSource& source) : source_(source) { source_.hold(); }
  ~HoldGuard() { source_.release(); }
  HoldGuard(const HoldGuard&) = delete;
  HoldGuard& operator=(const HoldGuard&) = delete;

 private:
  EpollEventSource& source_;
};

// Readiness of one socket for actors: wait_readable()/wait_writable() suspend the calling actor
// until the next edge (or detach()). The waiter unlinks itself if the actor is cancelled.
class FdWatch final : private IFdHandler {
 public:
  explicit FdWatch(EpollEventSource& source) : source_(source) {}
  ~FdWatch();
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;

  // Registers `fd` for input, output and peer hang-up.
  absl::Status attach(int fd);
  // Deregisters (call before closing the fd) and wakes every waiter.
  void detach();
  bool attached() const { return fd_ >= 0; }
  // Suspend until the next readiness edge, detach(), or cancellation (throws Cancelled).
  // Spurious returns are possible: callers retry their syscall in a loop.
  void wait_readable() { wait_on(readers_); }
  void wait_writable() { wait_on(writers_); }

 private:
  void on_fd_events(uint32_t events) override;
  void wait_on(WaitList& list);

  EpollEventSource& source_;
  int fd_ = -1;
  uint64_t token_ = 0;
  WaitList readers_;
  WaitList writers_;
};

}  // namespace weir::real
