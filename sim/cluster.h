// The simulated cluster workloads run on: it turns RoleSpecs into simulated machines and
// processes, keeps a few client processes that injectors never kill, and records the fault
// schedule that injectors apply (it goes into replay files).
#pragma once

#include <string>
#include <vector>

#include "runtime/workload.h"
#include "sim/simulator.h"

namespace weir::sim {

class SimCluster final : public ICluster {
 public:
  SimCluster(Simulator& sim, int client_count);

  absl::StatusOr<std::vector<std::string>> start_role(const RoleSpec& spec) override;
  int client_count() const override { return static_cast<int>(clients_.size()); }
  Process* client(int index) override;
  IRandom& random() override { return sim_.random(); }

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
  std::vector<std::string> fault_schedule_;
};

}  // namespace weir::sim
