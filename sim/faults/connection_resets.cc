#include "sim/faults/connection_resets.h"

#include <vector>

#include "absl/strings/str_format.h"

namespace weir::sim {
namespace {

constexpr OptionSpec kSchema[] = {
    {kIntervalOption, OptionKind::kIntensity, "2", "0.5..10", 0.001, 3600,
     "mean seconds between faults"},
    {"probability", OptionKind::kIntensity, "0.1..1", "0.05..1", 0, 1,
     "chance that each live connection of the chosen machine is reset"},
};

}  // namespace

std::span<const OptionSpec> ConnectionResets::schema() {
  return kSchema;
}

ConnectionResets::ConnectionResets(SimCluster& cluster,
                                   const std::map<std::string, std::string>& options, bool swarm)
    : Injector(cluster, "ConnectionResets", kSchema, options, swarm) {}

void ConnectionResets::inject() {
  const std::vector<SimMachine*> machines = cluster().role_machines();
  if (machines.empty()) return count("skipped");
  SimMachine* m = machines[pick(machines.size())];
  const double p = options().draw("probability", random());
  const size_t n = network().reset_connections(m->ip(), p);
  record(absl::StrFormat("reset connections of %s (%s) with p=%.3f: %d reset", m->name(), m->ip(),
                         p, n));
  count("resets");
  count("connections_reset", static_cast<double>(n));
}

}  // namespace weir::sim
