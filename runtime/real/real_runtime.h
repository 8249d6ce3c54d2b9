// Everything a real binary needs to run actors: the epoll event source, the scheduler, the I/O
// pool, network, file system, clock, randomness and the ProcessContext of the one real process,
// built in the right order and torn down in the reverse one.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "runtime/future.h"
#include "runtime/process_context.h"
#include "runtime/real/epoll_event_source.h"
#include "runtime/real/io_thread_pool.h"
#include "runtime/real/real_clock.h"
#include "runtime/real/real_file_system.h"
#include "runtime/real/real_network.h"
#include "runtime/real/signal_watcher.h"
#include "runtime/scheduler.h"
#include "runtime/wait_list.h"

namespace weir::real {

struct RealRuntimeOptions {
  std::string address;   // "host:port" this process serves on (ProcessContext::address)
  std::string data_dir;  // where its durable files live
  std::string machine = "local";
  std::string name = "main";
  IoThreadPoolOptions io;
  Scheduler::Options scheduler;
  bool handle_signals = true;  // SIGINT/SIGTERM through a signalfd (see on_signal())
};

// The real runtime of one process. Create one on the main thread, then run(main):
//
//   weir::real::RealRuntime rt({.address = "127.0.0.1:9092", .data_dir = "/var/lib/weir"});
//   auto result = rt.run([&] { return serve(weir::current_context()); });
//
// Signals: the first SIGINT/SIGTERM wakes actors in await_shutdown() if there are any (graceful
// stop); otherwise, and on any later signal, every actor of the process is cancelled.
class RealRuntime {
 public:
  explicit RealRuntime(RealRuntimeOptions options);
  ~RealRuntime();
  RealRuntime(const RealRuntime&) = delete;
  RealRuntime& operator=(const RealRuntime&) = delete;

  // Spawns `main_fn` as the main actor of the process and runs the loop until it ends.
  template <class F>
  Result<SpawnResult<F>> run(F&& main_fn) {
    return run_until(spawn_in(scheduler_.default_process(), "main", std::forward<F>(main_fn)));
  }
  // Runs the loop until `f` is ready. Internal error if the loop went quiescent first.
  template <class T>
  Result<T> run_until(Future<T> f) {
    f.on_ready([this] { scheduler_.stop(); });
    if (!f.is_ready()) scheduler_.run();
    if (!f.is_ready()) return absl::InternalError("event loop went quiescent: actors deadlocked");
    return f.get();
  }

  // Suspends the calling actor until SIGINT/SIGTERM (at once if one has arrived). Throws
  // Cancelled. Requires handle_signals.
  void await_shutdown();
  int signals_received() const { return signals_received_; }

  Scheduler& scheduler() { return scheduler_; }
  EpollEventSource& events() { return events_; }
  IoThreadPool& io_pool() { return pool_; }
  RealNetwork& network() { return network_; }
  RealFileSystem& fs() { return fs_; }
  RealClock& clock() { return clock_; }
  OsRandom& random() { return random_; }
  ProcessContext& context() { return context_; }
  const RealRuntimeOptions& options() const { return options_; }

 private:
  void on_signal(int signo);

  RealRuntimeOptions options_;
  // Declaration order is construction order; the scheduler dies first, draining its actors
  // while the event source, I/O pool and files are still alive.
  EpollEventSource events_;
  IoThreadPool pool_;
  RealNetwork network_;
  RealFileSystem fs_;
  RealClock clock_;
  OsRandom random_;
  ProcessContext context_;
  WaitList shutdown_waiters_;
  int signals_received_ = 0;
  Scheduler scheduler_;
  std::unique_ptr<SignalWatcher> signals_;
};

}  // namespace weir::real
