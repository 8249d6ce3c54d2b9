#include "sim/faults/clogging.h"

#include <vector>

#include "absl/strings/str_format.h"

namespace weir::sim {
namespace {

constexpr OptionSpec kSchema[] = {
    {kIntervalOption, OptionKind::kIntensity, "2", "0.5..10", 0.001, 3600,
     "mean seconds between faults"},
    {"clog_s", OptionKind::kPerFault, "0.1..3", "0.05..5", 0, 3600,
     "seconds a machine's traffic is held back"},
    {"slow_probability", OptionKind::kIntensity, "0.2", "0..0.5", 0, 1,
     "chance that a fault slows a machine's links instead of clogging it"},
    {"slow_factor", OptionKind::kPerFault, "2..20", "2..20", 1, 1000,
     "latency multiplier of a slow machine"},
    {"slow_s", OptionKind::kPerFault, "1..10", "0.5..20", 0, 3600, "seconds a machine stays slow"},
};

}  // namespace

std::span<const OptionSpec> Clogging::schema() {
  return kSchema;
}

Clogging::Clogging(SimCluster& cluster, const std::map<std::string, std::string>& options,
                   bool swarm)
    : Injector(cluster, "Clogging", kSchema, options, swarm) {}

void Clogging::inject() {
  const std::vector<SimMachine*> machines = cluster().role_machines();
  if (machines.empty()) return count("skipped");
  if (random().coinflip(options().draw("slow_probability", random())) && slow_down()) return;
  clog(machines[pick(machines.size())]);
}

void Clogging::clog(SimMachine* m) {
  const Duration d = options().draw_seconds("clog_s", random());
  network().clog(m->ip(), d);
  record(absl::StrFormat("clog %s (%s) for %.3fs", m->name(), m->ip(), to_seconds(d)));
  count("clogs");
}

bool Clogging::slow_down() {
  std::vector<SimMachine*> candidates;
  for (SimMachine* m : cluster().role_machines()) {
    if (!slow_ips_.contains(m->ip())) candidates.push_back(m);
  }
  if (candidates.empty()) return false;
  SimMachine* m = candidates[pick(candidates.size())];
  const double factor = options().draw("slow_factor", random());
  const Duration d = options().draw_seconds("slow_s", random());
  const std::string ip = m->ip();
  network().set_slow(ip, factor);
  slow_ips_.insert(ip);
  const std::string what = absl::StrFormat("slow links of %s (%s)", m->name(), ip);
  record(absl::StrFormat("%s x%.1f for %.3fs", what, factor, to_seconds(d)));
  undo_after(d, what, [this, ip] {
    network().set_slow(ip, 1.0);
    slow_ips_.erase(ip);
  });
  count("slow_links");
  return true;
}

}  // namespace weir::sim
