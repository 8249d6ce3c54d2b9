// The simulation of a whole cluster in one thread: virtual time, the seeded generator, the
// network, machines with disks and clocks, processes, and the unseed. Everything a seed does
// flows from here, so the same seed replays the same run bit for bit.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/random.h"
#include "runtime/scheduler.h"
#include "runtime/virtual_time.h"
#include "sim/machine.h"
#include "sim/network.h"
#include "sim/unseed.h"

namespace weir::sim {

struct SimulatorOptions {
  NetworkOptions network;
  double clock_drift_max_ppm = 200;
  Duration clock_origin_max = 3600s;
};

class Simulator {
 public:
  explicit Simulator(uint64_t seed, SimulatorOptions options = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  uint64_t seed() const { return seed_; }
  Scheduler& scheduler() { return scheduler_; }
  SimNetwork& network() { return network_; }
  IRandom& random() { return random_; }
  Unseed& unseed() { return unseed_; }
  TimePoint now() const { return scheduler_.now(); }

  // Machines get addresses 10.0.x.y in creation order.
  SimMachine* add_machine(const std::string& name);
  // Creates a process listening (if it wants) on machine-ip:port, and boots it.
  SimProcess* add_process(SimMachine* machine, const std::string& name, uint16_t port, BootFn boot);

  // kill -9: the process's actors are cancelled; its machine's page cache survives.
  void kill(SimProcess* process);
  // Power loss: every process on the machine dies and the disk loses/tears unsynced writes.
  void crash_machine(SimMachine* machine);
  // Clean shutdown of a machine: processes die, the disk keeps everything.
  void shutdown_machine(SimMachine* machine);
  // Starts a dead process again from its machine's disk.
  void boot(SimProcess* process);
  // Boots the process after `downtime` (if it is still dead then).
  void boot_after(SimProcess* process, Duration downtime);
  // SIGSTOP for `duration`, then SIGCONT.
  void pause(SimProcess* process, Duration duration);
  // SIGCONT now (healing does not wait for a pause to run out).
  void resume(SimProcess* process);

  const std::vector<std::unique_ptr<SimMachine>>& machines() const { return machines_; }
  const std::vector<std::unique_ptr<SimProcess>>& processes() const { return processes_; }
  SimProcess* find_process(const std::string& name) const;

  // Kills every process and lets every actor unwind (end of a run).
  void shutdown();

 private:
  uint64_t seed_;
  SimulatorOptions options_;
  DeterministicRandom random_;
  VirtualTimeSource time_;
  Unseed unseed_;
  Scheduler scheduler_;
  SimNetwork network_;
  std::vector<std::unique_ptr<SimMachine>> machines_;
  std::vector<std::unique_ptr<SimProcess>> processes_;
};

}  // namespace weir::sim
