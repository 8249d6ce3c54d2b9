// SIGINT/SIGTERM for a real process without async-signal handlers: the signals are blocked and
// read from a signalfd on the loop thread, so reacting to one is ordinary actor-world code.
#pragma once

#include <signal.h>

#include <cstdint>
#include <functional>

#include "runtime/real/epoll_event_source.h"

namespace weir::real {

// Blocks SIGINT and SIGTERM in the calling thread (the loop thread; the I/O workers block every
// signal) and calls `on_signal(signo)` on the loop thread for each one received. The previous
// signal mask is restored on destruction.
class SignalWatcher final : private IFdHandler {
 public:
  SignalWatcher(EpollEventSource& source, std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void on_fd_events(uint32_t events) override;

  EpollEventSource& source_;
  std::function<void(int)> on_signal_;
  sigset_t old_mask_;
  int fd_ = -1;
  uint64_t token_ = 0;
};

}  // namespace weir::real
