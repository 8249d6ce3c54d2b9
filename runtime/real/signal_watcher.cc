#include "runtime/real/signal_watcher.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "runtime/assert.h"

namespace weir::real {

SignalWatcher::SignalWatcher(EpollEventSource& source, std::function<void(int)> on_signal)
    : source_(source), on_signal_(std::move(on_signal)) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  WEIR_ASSERT(pthread_sigmask(SIG_BLOCK, &mask, &old_mask_) == 0);
  fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  WEIR_ASSERT_MSG(fd_ >= 0, "signalfd failed");
  auto token = source_.add_fd(fd_, EPOLLIN, this);
  WEIR_ASSERT_MSG(token.ok(), "cannot register the signalfd");
  token_ = *token;
}

SignalWatcher::~SignalWatcher() {
  source_.remove_fd(fd_, token_);
  ::close(fd_);
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void SignalWatcher::on_fd_events(uint32_t /*events*/) {
  signalfd_siginfo info{};
  // Edge-triggered: drain every queued signal.
  while (::read(fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
    on_signal_(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace weir::real
