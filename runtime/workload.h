// The contract between a test harness and a workload (FoundationDB style). A workload drives
// clients and at the end checks invariants; fault injectors are workloads too. The harness
// runs every workload's setup(), then start() as actors during the fault phase, then stop()
// (injectors heal), then check() within a bounded time (liveness). The same workload runs in
// simulation and against a real cluster: it only sees ICluster.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/process_context.h"
#include "runtime/scheduler.h"

namespace weir {

struct Verdict {
  enum class Kind { kPass, kCorrectness, kLiveness };
  Kind kind = Kind::kPass;
  std::string reason;

  static Verdict pass() { return {}; }
  static Verdict correctness(std::string reason) { return {Kind::kCorrectness, std::move(reason)}; }
  static Verdict liveness(std::string reason) { return {Kind::kLiveness, std::move(reason)}; }
  bool ok() const { return kind == Kind::kPass; }
};
std::string_view verdict_kind_name(Verdict::Kind kind);

// A group of identical server processes a workload asks for.
struct RoleSpec {
  std::string name;
  int count = 1;
  uint16_t port = 0;
  std::function<void(ProcessContext&)> boot;  // runs as each process's root actor
};

// Faults a scenario workload aims itself (Jepsen's nemesis aimed at the leader of the moment),
// by role process name ("broker1"). Random faults come from injectors; these exist for
// scenarios that must reach one exact state (the ISR shrunk to the leader, then the leader
// lost). Each fault is recorded in the run's fault schedule.
class IFaults {
 public:
  virtual ~IFaults() = default;
  // kill -9: the process dies; its machine (and the data the OS holds for it) survives.
  virtual absl::Status kill(std::string_view process) = 0;
  // The machine loses power: writes not yet synced are lost.
  virtual absl::Status power_loss(std::string_view process) = 0;
  // Boots a dead process again.
  virtual absl::Status restart(std::string_view process) = 0;
  // The process stops running (SIGSTOP) for `duration`, then goes on as if nothing happened.
  virtual absl::Status pause(std::string_view process, Duration duration) = 0;
  // No data flows between the two processes' machines, either way, until heal_links().
  virtual absl::Status cut(std::string_view a, std::string_view b) = 0;
  // Ends every cut made through this interface.
  virtual void heal_links() = 0;
  // Ends every fault, whoever made it: links healed, paused processes resumed, dead ones booted.
  virtual void heal_all() = 0;
};

// What a workload sees of the cluster it runs on; it cannot tell simulated from real.
class ICluster {
 public:
  virtual ~ICluster() = default;
  // Starts `spec.count` processes (each on its own machine); returns their addresses.
  virtual absl::StatusOr<std::vector<std::string>> start_role(const RoleSpec& spec) = 0;
  // Client processes that are never faulted by process-level injectors, for driving load.
  virtual int client_count() const = 0;
  virtual Process* client(int index) = 0;
  // Randomness for the workload's own decisions (seeded in simulation).
  virtual IRandom& random() = 0;
  // Aimed faults, or nullptr where this cluster cannot apply them.
  virtual IFaults* faults() { return nullptr; }
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string_view name() const = 0;
  // Declares roles and prepares state. Runs before any actor of the run.
  virtual absl::Status setup(ICluster& cluster) { return (void)cluster, absl::OkStatus(); }
  // The workload's activity, run as an actor until stop() (or until it is done by itself).
  virtual void start(ICluster& cluster) = 0;
  // The fault phase is over: injectors heal everything; drivers stop issuing new work.
  virtual void stop() {}
  // Runs as an actor after every workload stopped; the harness bounds its time (liveness).
  virtual Verdict check(ICluster& cluster) = 0;
  virtual std::map<std::string, double> metrics() const { return {}; }
  // True for fault injectors: they are stopped first, and their metrics are fault counts.
  virtual bool is_injector() const { return false; }
};

}  // namespace weir
