// Clogging: a machine's traffic stops for a while, or its links turn slow. It exists because
// timeouts, heartbeats and retries misbehave in ways a clean partition never shows: data
// arrives late rather than never, and a slow peer looks dead to one side only now and then.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>

#include "sim/faults/injector.h"

namespace weir::sim {

class Clogging final : public Injector {
 public:
  static std::span<const OptionSpec> schema();

  Clogging(SimCluster& cluster, const std::map<std::string, std::string>& options, bool swarm);

 protected:
  void inject() override;

 private:
  void clog(SimMachine* m);
  // False if every role machine is already slow.
  bool slow_down();

  // Ips this injector made slow. One slow spell per ip at a time, so that one spell's end
  // (set_slow(ip, 1)) never cuts another short.
  std::set<std::string> slow_ips_;
};

}  // namespace weir::sim
