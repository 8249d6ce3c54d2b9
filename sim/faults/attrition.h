// Attrition: processes and machines die, lose power, shut down or freeze, and come back after
// a while. It exists because recovery code (log truncation after a torn write, leader
// election, session expiry) only runs when something dies, and it must keep few enough role
// processes down at once that the cluster can still recover after healing.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "sim/faults/injector.h"

namespace weir::sim {

class Attrition final : public Injector {
 public:
  static std::span<const OptionSpec> schema();
  // Checks beyond syntax and bounds (some weight must be positive).
  static absl::Status validate(const InjectorOptions& options);

  Attrition(SimCluster& cluster, const std::map<std::string, std::string>& options, bool swarm);

  // The most role processes that may be down (dead or paused) at once, for `role_count`.
  // Default: a minority, (n-1)/2, and at least 1 when there are two or more.
  int max_down(size_t role_count);

 protected:
  void inject() override;

 private:
  enum Action { kKill, kCrash, kShutdown, kPause, kActionCount };

  // Role processes that are down now (dead or paused).
  int down_count() const;
  void kill_process(int budget);
  void pause_process(int budget);
  void stop_machine(Action action, int budget);
  // The process's reboot, after a random downtime.
  Duration schedule_reboot(SimProcess* p);
};

}  // namespace weir::sim
