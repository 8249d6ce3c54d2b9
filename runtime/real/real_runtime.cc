#include "runtime/real/real_runtime.h"

#include <fstream>

#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir::real {
namespace {

// The kernel's id of this boot; empty where there is none (then every restart looks like a
// new boot, the safe assumption).
std::string read_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  if (!(in >> id)) return {};
  return id;
}

}  // namespace

RealRuntime::RealRuntime(RealRuntimeOptions options)
    : options_(std::move(options)),
      pool_(events_, options_.io),
      network_(events_),
      fs_(pool_),
      scheduler_(events_, options_.scheduler) {
  context_.network = &network_;
  context_.fs = &fs_;
  context_.clock = &clock_;
  context_.random = &random_;
  context_.address = options_.address;
  context_.data_dir = options_.data_dir;
  context_.machine = options_.machine;
  context_.name = options_.name;
  context_.boot_id = read_boot_id();
  context_.simulated = false;
  scheduler_.default_process()->set_context(&context_);
  if (options_.handle_signals) {
    signals_ = std::make_unique<SignalWatcher>(events_, [this](int signo) { on_signal(signo); });
  }
}

RealRuntime::~RealRuntime() {
  // Stop reacting to signals before the actors that might wait for them are torn down.
  signals_.reset();
}

void RealRuntime::on_signal(int signo) {
  ++signals_received_;
  TraceEvent(Severity::kWarnAlways, "SignalReceived")
      .detail("Signal", signo)
      .detail("Count", signals_received_);
  if (signals_received_ == 1 && !shutdown_waiters_.empty()) {
    shutdown_waiters_.fire_all();  // graceful: the application stops itself
    return;
  }
  scheduler_.kill_process(scheduler_.default_process());
}

void RealRuntime::await_shutdown() {
  WEIR_ASSERT_MSG(signals_ != nullptr, "await_shutdown() needs handle_signals");
  Scheduler& s = Scheduler::current();
  while (signals_received_ == 0) {
    ActorWaiter waiter(s.current_actor());
    shutdown_waiters_.push_back(&waiter);
    HoldGuard hold(events_);  // waiting for a signal keeps the loop alive
    s.suspend();
  }
}

}  // namespace weir::real
