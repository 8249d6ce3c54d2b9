#include "sim/cluster.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

absl::StatusOr<SimProcess*> SimCluster::role_process(std::string_view name) const {
  for (SimProcess* p : role_processes_) {
    if (p->name() == name) return p;
  }
  return absl::NotFoundError(absl::StrCat("no role process ", std::string(name)));
}

absl::Status SimCluster::kill(std::string_view process) {
  auto p = role_process(process);
  if (!p.ok()) return p.status();
  if (!(*p)->running()) return absl::FailedPreconditionError("not running");
  sim_.kill(*p);
  record_fault(absl::StrCat("nemesis: kill -9 ", (*p)->name()));
  return absl::OkStatus();
}

absl::Status SimCluster::power_loss(std::string_view process) {
  auto p = role_process(process);
  if (!p.ok()) return p.status();
  SimMachine* m = &(*p)->machine();
  for (SimProcess* q : m->processes()) {
    if (!q->running()) return absl::FailedPreconditionError("a process of the machine is down");
  }
  sim_.crash_machine(m);
  record_fault(absl::StrCat("nemesis: power loss on ", m->name()));
  return absl::OkStatus();
}

absl::Status SimCluster::restart(std::string_view process) {
  auto p = role_process(process);
  if (!p.ok()) return p.status();
  if ((*p)->state() != SimProcess::State::kDead) return absl::FailedPreconditionError("not dead");
  sim_.boot(*p);
  record_fault(absl::StrCat("nemesis: boot ", (*p)->name()));
  return absl::OkStatus();
}

absl::Status SimCluster::pause(std::string_view process, Duration duration) {
  auto p = role_process(process);
  if (!p.ok()) return p.status();
  if (!(*p)->running()) return absl::FailedPreconditionError("not running");
  sim_.pause(*p, duration);
  record_fault(absl::StrFormat("nemesis: pause %s for %.3fs", (*p)->name(), to_seconds(duration)));
  return absl::OkStatus();
}

absl::Status SimCluster::cut(std::string_view a, std::string_view b) {
  auto pa = role_process(a);
  if (!pa.ok()) return pa.status();
  auto pb = role_process(b);
  if (!pb.ok()) return pb.status();
  const std::string& ia = (*pa)->machine().ip();
  const std::string& ib = (*pb)->machine().ip();
  for (const auto& edge : {std::make_pair(ia, ib), std::make_pair(ib, ia)}) {
    if (cuts_.insert(edge).second) sim_.network().partition(edge.first, edge.second);
  }
  record_fault(absl::StrCat("nemesis: cut ", (*pa)->name(), " <-> ", (*pb)->name()));
  return absl::OkStatus();
}

void SimCluster::heal_links() {
  if (cuts_.empty()) return;
  for (const auto& [from, to] : cuts_) sim_.network().heal(from, to);
  cuts_.clear();
  record_fault("nemesis: heal its cuts");
}

void SimCluster::heal_everything() {
  cuts_.clear();
  sim_.network().heal_all();
  for (SimMachine* m : role_machines()) m->disk().set_faults(DiskFaults{});
  for (SimProcess* p : role_processes_) {
    if (p->state() == SimProcess::State::kDead) sim_.boot(p);
    if (p->state() == SimProcess::State::kPaused) sim_.resume(p);
  }
  record_fault("heal everything");
}

}  // namespace weir::sim
