// The simulated cluster workloads run on: it turns RoleSpecs into simulated machines and
// processes, keeps a few client processes that injectors never kill, and records the fault
// schedule that injectors apply (it goes into replay files).
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "runtime/workload.h"
#include "sim/simulator.h"

namespace weir::sim {

class SimCluster final : public ICluster, public IFaults {
 public:
  SimCluster(Simulator& sim, int client_count);

  absl::StatusOr<std::vector<std::string>> start_role(const RoleSpec& spec) override;
  int client_count() const override { return static_cast<int>(clients_.size()); }
  Process* client(int index) override;
  IRandom& random() override { return sim_.random(); }
  IFaults* faults() override { return this; }

  // IFaults, on role processes only (clients and the tester are never faulted).
  absl::Status kill(std::string_view process) override;
  absl::Status power_loss(std::string_view process) override;
  absl::Status restart(std::string_view process) override;
  absl::Status pause(std::string_view process, Duration duration) override;
  absl::Status cut(std::string_view a, std::string_view b) override;
  void heal_links() override;
  void heal_all() override { heal_everything(); }

  Simulator& sim() { return sim_; }
  // Processes started by roles: the ones injectors may kill, pause, partition.
  const std::vector<SimProcess*>& role_processes() const { return role_processes_; }
  // Machines of role processes (injectors fault these).
  std::vector<SimMachine*> role_machines() const;
  // The process that runs the harness itself.
  Process* tester() { return tester_->runtime_process(); }

  // Appends "t=<seconds> <what>" to the fault schedule and traces it.
  void record_fault(const std::string& what);
  const std::vector<std::string>& fault_schedule() const { return fault_schedule_; }
  // Every injector heals through this: network healed, dead role processes booted.
  void heal_everything();

 private:
  Simulator& sim_;
  SimProcess* tester_ = nullptr;
  std::vector<SimProcess*> clients_;
  std::vector<SimProcess*> role_processes_;
  absl::StatusOr<SimProcess*> role_process(std::string_view name) const;

  std::vector<std::string> fault_schedule_;
  std::set<std::pair<std::string, std::string>> cuts_;  // (from ip, to ip) made by cut()
};

}  // namespace weir::sim
