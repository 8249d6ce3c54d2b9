// Blocking syscalls (file I/O) must never stall the actor thread. The I/O pool runs them on a
// few worker threads; completions travel back through an eventfd registered with the event
// source, and the calling actor waits uncancellably because it lends its buffers to the worker.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "runtime/real/epoll_event_source.h"
#include "runtime/scheduler.h"
#include "runtime/wait_list.h"

namespace weir::real {

struct IoThreadPoolOptions {
  size_t threads = 2;
  size_t queue_max = 256;  // operations submitted and not yet completed; beyond it callers wait
};

// A small fixed pool of worker threads. Only run() is used from actors; the workers never touch
// the scheduler. All signals are blocked in the workers (the loop thread owns signal handling).
class IoThreadPool final : private IFdHandler {
 public:
  IoThreadPool(EpollEventSource& source, IoThreadPoolOptions options);
  explicit IoThreadPool(EpollEventSource& source) : IoThreadPool(source, IoThreadPoolOptions{}) {}
  ~IoThreadPool();
  IoThreadPool(const IoThreadPool&) = delete;
  IoThreadPool& operator=(const IoThreadPool&) = delete;

  // Runs `fn` on a worker and returns its (non-void) result. The calling actor waits for it even
  // if cancelled meanwhile (fn may use memory on the actor's stack); the cancellation takes
  // effect at the actor's next suspension point. Throws Cancelled only before submitting (when
  // already cancelled or while waiting for queue space). Outside an actor, runs `fn` inline.
  template <class F>
  std::invoke_result_t<F&> run(F&& fn);

  size_t in_flight() const { return in_flight_; }
  uint64_t completed() const { return completed_; }
  // True on one of this process's I/O worker threads.
  static bool on_worker_thread();

 private:
  struct Op {
    std::function<void()> work;
    Actor* actor = nullptr;
    bool done = false;
  };

  void execute(Op& op);
  void wait_for_space();
  void worker_main(size_t index);
  void on_fd_events(uint32_t events) override;
  void start_workers();

  EpollEventSource& source_;
  IoThreadPoolOptions options_;
  int event_fd_ = -1;
  uint64_t token_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Op*> queue_;           // guarded by mutex_
  std::vector<Op*> completed_ops_;  // guarded by mutex_
  bool stopping_ = false;           // guarded by mutex_
  std::vector<std::thread> threads_;

  std::vector<Op*> draining_;  // loop thread only from here on
  WaitList space_waiters_;
  size_t in_flight_ = 0;
  uint64_t completed_ = 0;
};

template <class F>
std::invoke_result_t<F&> IoThreadPool::run(F&& fn) {
  using R = std::invoke_result_t<F&>;
  static_assert(!std::is_void_v<R>, "return a status from I/O pool work");
  Scheduler* s = Scheduler::current_or_null();
  if (s == nullptr || s->current_actor() == nullptr) return fn();
  std::optional<R> result;
  Op op;
  op.work = [&result, &fn] { result.emplace(fn()); };
  execute(op);
  return std::move(*result);
}

}  // namespace weir::real
