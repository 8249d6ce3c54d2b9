// ConnectionResets: live TCP connections of a machine are reset now and then, as a NAT, a load
// balancer or a rebooted switch would do. It exists because reconnect paths (resending
// in-flight requests, re-registering watches, idempotent producer retries) run only when a
// connection breaks while both ends are alive.
#pragma once

#include <map>
#include <span>
#include <string>

#include "sim/faults/injector.h"

namespace weir::sim {

class ConnectionResets final : public Injector {
 public:
  static std::span<const OptionSpec> schema();

  ConnectionResets(SimCluster& cluster, const std::map<std::string, std::string>& options,
                   bool swarm);

 protected:
  void inject() override;
};

}  // namespace weir::sim
