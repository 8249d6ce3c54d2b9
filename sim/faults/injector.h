// The common life of every fault injector. Each injector is a workload (so a spec lists it
// next to the workloads it disturbs) whose start() loops "wait a random while, apply one
// fault" until stop(), and whose stop() undoes its faults so the run can check liveness.
// Keeping that loop, the undo timers and the bookkeeping here lets each injector only say
// what one fault is.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "runtime/future.h"
#include "runtime/workload.h"
#include "sim/cluster.h"
#include "sim/faults/options.h"

namespace weir::sim {

// The option every injector has: the mean wait between faults, in seconds. Each wait is
// exponential with that mean, so faults come in bursts and lulls as real ones do.
inline constexpr std::string_view kIntervalOption = "interval_s";

class Injector : public Workload {
 public:
  // `options` must already be valid for `schema` (the factory checks them): a constructor
  // cannot report errors. In swarm mode this draws the seed's intensity.
  Injector(SimCluster& cluster, std::string_view name, std::span<const OptionSpec> schema,
           const std::map<std::string, std::string>& options, bool swarm);
  ~Injector() override;
  Injector(const Injector&) = delete;
  Injector& operator=(const Injector&) = delete;

  std::string_view name() const override { return name_; }
  void start(ICluster& cluster) override;
  // Ends start() at once, undoes every fault of this injector still in force, and heals the
  // cluster. Safe to call more than once and before start().
  void stop() override;
  Verdict check(ICluster&) override { return Verdict::pass(); }
  std::map<std::string, double> metrics() const override { return metrics_; }
  bool is_injector() const override { return true; }

  const InjectorOptions& options() const { return options_; }
  bool swarm() const { return swarm_; }

 protected:
  // Applies one fault, or counts why it could not. Runs on the injector's actor but must not
  // suspend, so that stop() never meets a half-applied fault.
  virtual void inject() = 0;

  SimCluster& cluster() { return cluster_; }
  const SimCluster& cluster() const { return cluster_; }
  Simulator& sim() { return cluster_.sim(); }
  SimNetwork& network() { return cluster_.sim().network(); }
  IRandom& random() { return cluster_.random(); }
  void count(const std::string& metric, double n = 1) { metrics_[metric] += n; }
  // Adds "<injector>: <what>" to the cluster's fault schedule (which also traces it).
  void record(const std::string& what);
  // Runs `undo` after `d` (scheduler time), recording "heal <what>"; if stop() comes first,
  // stop() runs it instead. The undo must not suspend.
  void undo_after(Duration d, const std::string& what, std::function<void()> undo);
  size_t undos_pending() const { return undos_.size(); }
  // A uniformly chosen index below n (n > 0).
  size_t pick(size_t n) { return static_cast<size_t>(random().below(n)); }
  // An index drawn with probability proportional to weights[i]; -1 when all are zero.
  int pick_weighted(std::span<const double> weights);

 private:
  enum class State { kIdle, kRunning, kStopped };
  struct Undo {
    TimerKey timer;
    std::function<void()> fn;
  };

  // Waits for the next fault time; false if stop() came first.
  bool wait_for_next_fault();
  void run_undo(uint64_t id);

  SimCluster& cluster_;
  std::string name_;
  bool swarm_;
  InjectorOptions options_;
  State state_ = State::kIdle;
  bool stop_requested_ = false;
  std::optional<Promise<void>> wake_;  // set while start() waits for the next fault
  std::map<uint64_t, Undo> undos_;     // by creation order: stop() undoes in that order
  uint64_t next_undo_id_ = 1;
  std::map<std::string, double> metrics_;
};

}  // namespace weir::sim
