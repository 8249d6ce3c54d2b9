// Simulated machines and processes. A machine has an address, a disk and a drifting clock; a
// process is a boot function that runs as its root actor and can be killed, paused and
// restarted from whatever its machine's disk still holds.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/future.h"
#include "runtime/process_context.h"
#include "runtime/random.h"
#include "sim/clock.h"
#include "sim/disk.h"

namespace weir::sim {

// Runs on the process's root actor; returning ends the process.
using BootFn = std::function<void(ProcessContext&)>;

class SimProcess;

class SimMachine {
 public:
  SimMachine(std::string name, std::string ip, std::unique_ptr<SimDisk> disk,
             std::unique_ptr<SimClock> clock)
      : name_(std::move(name)),
        ip_(std::move(ip)),
        disk_(std::move(disk)),
        clock_(std::move(clock)) {}
  const std::string& name() const { return name_; }
  const std::string& ip() const { return ip_; }
  SimDisk& disk() { return *disk_; }
  SimClock& clock() { return *clock_; }
  const std::vector<SimProcess*>& processes() const { return processes_; }

 private:
  friend class Simulator;
  std::string name_;
  std::string ip_;
  std::unique_ptr<SimDisk> disk_;
  std::unique_ptr<SimClock> clock_;
  std::vector<SimProcess*> processes_;
  uint64_t boots_ = 0;  // power cycles (crash_machine, shutdown_machine)
};

class SimProcess {
 public:
  enum class State { kRunning, kPaused, kDead };

  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }
  SimMachine& machine() const { return *machine_; }
  State state() const { return state_; }
  bool running() const { return state_ == State::kRunning; }
  // The runtime process of the current incarnation (nullptr while dead).
  Process* runtime_process() const { return process_; }
  int incarnation() const { return incarnation_; }
  ProcessContext* context() const { return context_.get(); }

 private:
  friend class Simulator;
  std::string name_;
  std::string address_;
  SimMachine* machine_ = nullptr;
  BootFn boot_;
  State state_ = State::kDead;
  int incarnation_ = 0;
  Process* process_ = nullptr;
  std::unique_ptr<INetwork> network_;
  std::unique_ptr<DeterministicRandom> random_;
  std::unique_ptr<ProcessContext> context_;
  Future<void> root_;
  std::optional<TimerKey> unpause_timer_;
  // Earlier incarnations' context: their actors may still be unwinding when we reboot.
  std::vector<std::shared_ptr<void>> retired_;
};

}  // namespace weir::sim
