#include "sim/faults/injector.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"

namespace weir::sim {
namespace {

InjectorOptions resolve_options(std::span<const OptionSpec> schema,
                                const std::map<std::string, std::string>& options, bool swarm,
                                IRandom& random) {
  auto parsed = InjectorOptions::parse(schema, options, swarm);
  WEIR_ASSERT_MSG(parsed.ok(), "injector built from unchecked options; use make_injector()");
  if (swarm) parsed->narrow_for_seed(random);
  return *std::move(parsed);
}

// A fault every few microseconds would only spin the scheduler; no real fault is that dense.
constexpr Duration kMinWait = 1ms;

}  // namespace

Injector::Injector(SimCluster& cluster, std::string_view name, std::span<const OptionSpec> schema,
                   const std::map<std::string, std::string>& options, bool swarm)
    : cluster_(cluster),
      name_(name),
      swarm_(swarm),
      options_(resolve_options(schema, options, swarm, cluster.random())) {
  WEIR_ASSERT_MSG(options_.has(kIntervalOption), "every injector needs interval_s");
}

Injector::~Injector() {
  // Normally stop() has run every undo. If the run was abandoned instead, the timers must
  // not call into a destroyed injector.
  for (auto& [id, undo] : undos_) cluster_.sim().scheduler().cancel_timer(undo.timer);
}

void Injector::start(ICluster& cluster) {
  WEIR_ASSERT_MSG(&cluster == &cluster_, "injector started on another cluster");
  if (state_ == State::kStopped) return;  // the fault phase ended before we ran
  WEIR_ASSERT_MSG(state_ == State::kIdle, "injector started twice");
  state_ = State::kRunning;
  while (wait_for_next_fault()) {
    WEIR_ASSERT(state_ == State::kRunning);
    inject();
  }
}

bool Injector::wait_for_next_fault() {
  if (stop_requested_) return false;
  const double mean = options_.draw(kIntervalOption, random());
  const Duration wait = std::max(from_seconds(random().exponential(mean)), kMinWait);
  // stop() sets wake_, which ends this wait early: stop must not wait for a fault. A fresh
  // promise per wait, so that no callbacks pile up on one that lives all run long.
  Promise<void> wake;
  wake_ = wake;
  (void)await(timeout(wake.future(), wait));
  wake_.reset();
  // Checked again: the timer may have fired just before stop() ran.
  return !stop_requested_;
}

void Injector::stop() {
  if (stop_requested_) return;
  stop_requested_ = true;
  state_ = State::kStopped;
  if (wake_) wake_->try_set(absl::OkStatus());
  auto undos = std::move(undos_);
  undos_.clear();
  for (auto& [id, undo] : undos) {
    cluster_.sim().scheduler().cancel_timer(undo.timer);
    undo.fn();
  }
  cluster_.heal_everything();
}

void Injector::record(const std::string& what) {
  cluster_.record_fault(absl::StrCat(name_, ": ", what));
}

void Injector::undo_after(Duration d, const std::string& what, std::function<void()> undo) {
  WEIR_ASSERT_MSG(!stop_requested_, "fault applied after stop()");
  Scheduler& s = cluster_.sim().scheduler();
  const uint64_t id = next_undo_id_++;
  const TimerKey timer = s.add_timer(s.now() + d, [this, id, what] {
    run_undo(id);
    record("heal " + what);
  });
  undos_.emplace(id, Undo{timer, std::move(undo)});
}

void Injector::run_undo(uint64_t id) {
  auto it = undos_.find(id);
  WEIR_ASSERT_MSG(it != undos_.end(), "undo timer fired twice");
  auto fn = std::move(it->second.fn);
  undos_.erase(it);
  fn();
}

int Injector::pick_weighted(std::span<const double> weights) {
  double total = 0;
  for (double w : weights) total += w;
  if (total <= 0) return -1;
  double x = random().uniform01() * total;
  int last_positive = -1;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    last_positive = static_cast<int>(i);
    if (x < weights[i]) return last_positive;
    x -= weights[i];
  }
  return last_positive;  // rounding left x just above the last bucket
}

}  // namespace weir::sim
