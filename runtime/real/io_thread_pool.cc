#include "runtime/real/io_thread_pool.h"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "runtime/assert.h"

namespace weir::real {
namespace {
thread_local bool t_on_worker = false;
}  // namespace

IoThreadPool::IoThreadPool(EpollEventSource& source, IoThreadPoolOptions options)
    : source_(source), options_(options), event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  WEIR_ASSERT(options_.threads > 0 && options_.queue_max > 0);
  WEIR_ASSERT_MSG(event_fd_ >= 0, "eventfd failed");
  auto token = source_.add_fd(event_fd_, EPOLLIN, this);
  WEIR_ASSERT_MSG(token.ok(), "cannot register the I/O pool eventfd");
  token_ = *token;
  start_workers();
}

// Workers inherit the signal mask of their creator: block everything while creating them.
void IoThreadPool::start_workers() {
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (size_t i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i] { worker_main(i); });
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

IoThreadPool::~IoThreadPool() {
  WEIR_ASSERT_MSG(in_flight_ == 0, "I/O pool destroyed with operations in flight");
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  source_.remove_fd(event_fd_, token_);
  ::close(event_fd_);
}

bool IoThreadPool::on_worker_thread() {
  return t_on_worker;
}

void IoThreadPool::execute(Op& op) {
  Scheduler& s = Scheduler::current();
  s.check_cancelled();
  wait_for_space();
  op.actor = s.current_actor();
  ++in_flight_;
  source_.hold();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(&op);
  }
  cv_.notify_one();
  // The worker may be using this stack frame: wait for it whatever happens.
  while (!op.done) s.suspend_uncancellable();
}

void IoThreadPool::wait_for_space() {
  Scheduler& s = Scheduler::current();
  while (in_flight_ >= options_.queue_max) {
    ActorWaiter waiter(s.current_actor());
    space_waiters_.push_back(&waiter);
    s.suspend();
  }
}

void IoThreadPool::worker_main(size_t index) {
  t_on_worker = true;
  const std::string name = "weir-io-" + std::to_string(index);
  pthread_setname_np(pthread_self(), name.c_str());
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    Op* op = queue_.front();
    queue_.pop_front();
    lock.unlock();
    op->work();
    lock.lock();
    completed_ops_.push_back(op);
    const uint64_t one = 1;
    const ssize_t n = ::write(event_fd_, &one, sizeof(one));
    WEIR_ASSERT_MSG(n == sizeof(one), "eventfd write failed");
  }
}

// Loop thread: hands finished operations back to their actors.
void IoThreadPool::on_fd_events(uint32_t /*events*/) {
  uint64_t count = 0;
  while (::read(event_fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  {
    std::lock_guard lock(mutex_);
    draining_.swap(completed_ops_);
  }
  Scheduler& s = Scheduler::current();
  for (Op* op : draining_) {
    WEIR_ASSERT(!op->done && in_flight_ > 0);
    op->done = true;
    --in_flight_;
    ++completed_;
    source_.release();
    s.wake(op->actor);
  }
  // Room for more: every waiter retries (cancelled ones must not swallow a wake-up).
  if (!draining_.empty()) space_waiters_.fire_all();
  draining_.clear();
}

}  // namespace weir::real
