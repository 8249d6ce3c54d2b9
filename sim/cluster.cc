#include "sim/cluster.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::sim {
namespace {
// Client and tester processes only host actors that workloads spawn into them.
void idle_forever(ProcessContext&) {
  while (true) delay(3600s);
}
}  // namespace

SimCluster::SimCluster(Simulator& sim, int client_count) : sim_(sim) {
  tester_ = sim_.add_process(sim_.add_machine("tester"), "tester", 1, idle_forever);
  for (int i = 0; i < client_count; ++i) {
    const std::string name = absl::StrCat("client", i);
    clients_.push_back(sim_.add_process(sim_.add_machine(name), name, 1, idle_forever));
  }
}

absl::StatusOr<std::vector<std::string>> SimCluster::start_role(const RoleSpec& spec) {
  if (spec.count <= 0 || spec.count > 64) {
    return absl::InvalidArgumentError("role count must be in 1..64");
  }
  std::vector<std::string> addresses;
  for (int i = 0; i < spec.count; ++i) {
    const std::string name = absl::StrCat(spec.name, i);
    SimMachine* m = sim_.add_machine(name);
    SimProcess* p = sim_.add_process(m, name, spec.port, spec.boot);
    role_processes_.push_back(p);
    addresses.push_back(p->address());
  }
  return addresses;
}

Process* SimCluster::client(int index) {
  WEIR_ASSERT(!clients_.empty());
  SimProcess* p = clients_[static_cast<size_t>(index) % clients_.size()];
  return p->runtime_process();
}

std::vector<SimMachine*> SimCluster::role_machines() const {
  std::vector<SimMachine*> out;
  for (SimProcess* p : role_processes_) {
    SimMachine* m = &p->machine();
    if (out.empty() || out.back() != m) out.push_back(m);
  }
  return out;
}

void SimCluster::record_fault(const std::string& what) {
  char t[32];
  std::snprintf(t, sizeof(t), "t=%.6f ", to_seconds(sim_.now()));
  fault_schedule_.push_back(t + what);
  TraceEvent(Severity::kInfo, "SimFault").machine("sim", "injector").detail("What", what);
}

void SimCluster::heal_everything() {
  sim_.network().heal_all();
  for (SimMachine* m : role_machines()) m->disk().set_faults(DiskFaults{});
  for (SimProcess* p : role_processes_) {
    if (p->state() == SimProcess::State::kDead) sim_.boot(p);
    if (p->state() == SimProcess::State::kPaused) sim_.resume(p);
  }
  record_fault("heal everything");
}

}  // namespace weir::sim
