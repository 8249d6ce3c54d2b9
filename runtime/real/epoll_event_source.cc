#include "runtime/real/epoll_event_source.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>

#include "runtime/assert.h"
#include "runtime/real/errors.h"
#include "runtime/real/real_clock.h"

namespace weir::real {
namespace {

// Milliseconds until `deadline`, rounded up so that the loop never wakes early and spins.
int timeout_ms(std::optional<TimePoint> deadline, TimePoint now) {
  if (!deadline) return -1;
  if (*deadline <= now) return 0;
  const Duration left = *deadline - now;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left);
  if (ms < left) ++ms;
  return ms.count() > INT_MAX ? INT_MAX : static_cast<int>(ms.count());
}

}  // namespace

EpollEventSource::EpollEventSource()
    : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), loop_thread_(std::this_thread::get_id()) {
  WEIR_ASSERT_MSG(epoll_fd_ >= 0, "epoll_create1 failed");
}

EpollEventSource::~EpollEventSource() {
  WEIR_ASSERT_MSG(handlers_.empty(), "fds still registered when the event source died");
  ::close(epoll_fd_);
}

TimePoint EpollEventSource::now() const {
  return steady_now();
}

void EpollEventSource::assert_loop_thread() const {
  WEIR_ASSERT_MSG(std::this_thread::get_id() == loop_thread_, "event source used off its thread");
}

void EpollEventSource::release() {
  WEIR_ASSERT(holds_ > 0);
  --holds_;
}

bool EpollEventSource::wait(std::optional<TimePoint> deadline) {
  assert_loop_thread();
  if (!deadline && holds_ == 0) return false;  // nothing could ever wake an actor
  ++waits_;
  epoll_event events[kEventsMax];
  const int n = epoll_wait(epoll_fd_, events, kEventsMax, timeout_ms(deadline, now()));
  if (n < 0) {
    WEIR_ASSERT_MSG(errno == EINTR, "epoll_wait failed");
    return true;
  }
  dispatch(events, n);
  return true;
}

void EpollEventSource::dispatch(const epoll_event* events, int count) {
  for (int i = 0; i < count; ++i) {
    // A handler may deregister another fd of this batch: look each one up afresh.
    auto it = handlers_.find(events[i].data.u64);
    if (it != handlers_.end()) it->second->on_fd_events(events[i].events);
  }
}

absl::StatusOr<uint64_t> EpollEventSource::add_fd(int fd, uint32_t events, IFdHandler* handler) {
  assert_loop_thread();
  WEIR_ASSERT(fd >= 0 && handler != nullptr);
  const uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return errno_status(errno, "epoll_ctl(ADD) fd", std::to_string(fd));
  }
  handlers_.emplace(token, handler);
  return token;
}

void EpollEventSource::remove_fd(int fd, uint64_t token) {
  assert_loop_thread();
  const bool erased = handlers_.erase(token) > 0;
  WEIR_ASSERT_MSG(erased, "remove_fd of an unknown registration");
  const int rc = epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  WEIR_ASSERT_MSG(rc == 0, "epoll_ctl(DEL) failed");
}

FdWatch::~FdWatch() {
  // An actor still suspended in this watch would resume inside a dead object.
  WEIR_ASSERT_MSG(readers_.empty() && writers_.empty(), "FdWatch destroyed with waiters");
  if (attached()) source_.remove_fd(fd_, token_);
}

absl::Status FdWatch::attach(int fd) {
  WEIR_ASSERT_MSG(!attached(), "FdWatch attached twice");
  auto token = source_.add_fd(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  if (!token.ok()) return token.status();
  fd_ = fd;
  token_ = *token;
  return absl::OkStatus();
}

void FdWatch::detach() {
  if (!attached()) return;
  source_.remove_fd(fd_, token_);
  fd_ = -1;
  token_ = 0;
  readers_.fire_all();
  writers_.fire_all();
}

void FdWatch::on_fd_events(uint32_t events) {
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) readers_.fire_all();
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) writers_.fire_all();
}

void FdWatch::wait_on(WaitList& list) {
  WEIR_ASSERT_MSG(attached(), "wait on a detached fd");
  Scheduler& s = Scheduler::current();
  Actor* me = s.current_actor();
  WEIR_ASSERT_MSG(me != nullptr, "fd wait outside an actor");
  ActorWaiter waiter(me);
  list.push_back(&waiter);
  HoldGuard hold(source_);
  s.suspend();
}

}  // namespace weir::real
