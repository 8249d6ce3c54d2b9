#include "sim/faults/attrition.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "runtime/assert.h"

namespace weir::sim {
namespace {

constexpr OptionSpec kSchema[] = {
    {kIntervalOption, OptionKind::kIntensity, "5", "1..20", 0.001, 3600,
     "mean seconds between faults"},
    {"downtime_s", OptionKind::kPerFault, "1..10", "0.5..20", 0, 3600,
     "seconds a killed process or stopped machine stays down"},
    {"pause_s", OptionKind::kPerFault, "0.1..5", "0.1..10", 0.001, 3600,
     "seconds a paused process stays frozen"},
    {"kill_weight", OptionKind::kIntensity, "1", "0..1", 0, 1e6, "weight of kill -9"},
    {"crash_weight", OptionKind::kIntensity, "1", "0..1", 0, 1e6, "weight of power loss"},
    {"shutdown_weight", OptionKind::kIntensity, "0.5", "0..1", 0, 1e6,
     "weight of a clean machine shutdown"},
    {"pause_weight", OptionKind::kIntensity, "1", "0..1", 0, 1e6, "weight of SIGSTOP"},
    {"max_dead", OptionKind::kCount, "", "", 0, 64,
     "most role processes down at once; default a minority, (n-1)/2, at least 1 if n >= 2"},
};

constexpr std::string_view kWeightOptions[] = {"kill_weight", "crash_weight", "shutdown_weight",
                                               "pause_weight"};

bool is_role_process(const SimCluster& cluster, const SimProcess* p) {
  const auto& roles = cluster.role_processes();
  return std::find(roles.begin(), roles.end(), p) != roles.end();
}

}  // namespace

std::span<const OptionSpec> Attrition::schema() {
  return kSchema;
}

absl::Status Attrition::validate(const InjectorOptions& options) {
  double total = 0;
  for (std::string_view w : kWeightOptions) total += options.range(w).hi;
  if (total <= 0) return absl::InvalidArgumentError("Attrition: every weight is zero");
  return absl::OkStatus();
}

Attrition::Attrition(SimCluster& cluster, const std::map<std::string, std::string>& options,
                     bool swarm)
    : Injector(cluster, "Attrition", kSchema, options, swarm) {}

int Attrition::max_down(size_t role_count) {
  const int n = static_cast<int>(role_count);
  if (options().has("max_dead")) {
    return std::min(n, static_cast<int>(options().draw_count("max_dead", random())));
  }
  return n >= 2 ? std::max(1, (n - 1) / 2) : 0;
}

int Attrition::down_count() const {
  int down = 0;
  for (const SimProcess* p : cluster().role_processes()) {
    if (!p->running()) ++down;
  }
  return down;
}

void Attrition::inject() {
  const size_t n = cluster().role_processes().size();
  if (n == 0) return count("skipped");
  const int budget = max_down(n) - down_count();
  double weights[kActionCount];
  for (int i = 0; i < kActionCount; ++i) weights[i] = options().draw(kWeightOptions[i], random());
  const int action = pick_weighted(weights);
  // Over budget is possible only transiently (a lowered max_dead range); never add to it.
  if (action < 0 || budget <= 0) return count("skipped");
  switch (action) {
    case kKill:
      return kill_process(budget);
    case kPause:
      return pause_process(budget);
    case kCrash:
    case kShutdown:
      return stop_machine(static_cast<Action>(action), budget);
  }
  WEIR_UNREACHABLE();
}

Duration Attrition::schedule_reboot(SimProcess* p) {
  const Duration downtime = options().draw_seconds("downtime_s", random());
  sim().boot_after(p, downtime);
  return downtime;
}

void Attrition::kill_process(int budget) {
  WEIR_ASSERT(budget >= 1);
  std::vector<SimProcess*> running;
  for (SimProcess* p : cluster().role_processes()) {
    if (p->running()) running.push_back(p);
  }
  if (running.empty()) return count("skipped");
  SimProcess* p = running[pick(running.size())];
  sim().kill(p);
  const Duration downtime = schedule_reboot(p);
  record(absl::StrFormat("kill -9 %s, reboot in %.3fs", p->name(), to_seconds(downtime)));
  count("kills");
}

void Attrition::pause_process(int budget) {
  WEIR_ASSERT(budget >= 1);
  std::vector<SimProcess*> running;
  for (SimProcess* p : cluster().role_processes()) {
    if (p->running()) running.push_back(p);
  }
  if (running.empty()) return count("skipped");
  SimProcess* p = running[pick(running.size())];
  const Duration d = options().draw_seconds("pause_s", random());
  sim().pause(p, d);
  record(absl::StrFormat("pause %s for %.3fs", p->name(), to_seconds(d)));
  count("pauses");
}

// Power loss or clean shutdown of a whole machine: every process on it goes down, so the
// machine qualifies only if all of them fit in the budget.
void Attrition::stop_machine(Action action, int budget) {
  std::vector<SimMachine*> candidates;
  for (SimMachine* m : cluster().role_machines()) {
    const auto& procs = m->processes();
    const bool all_running =
        std::all_of(procs.begin(), procs.end(), [](SimProcess* p) { return p->running(); });
    if (all_running && static_cast<int>(procs.size()) <= budget) candidates.push_back(m);
  }
  if (candidates.empty()) return count("skipped");
  SimMachine* m = candidates[pick(candidates.size())];
  for (SimProcess* p : m->processes()) {
    WEIR_ASSERT_MSG(is_role_process(cluster(), p), "attrition would stop a tester or client");
  }
  const Duration downtime = options().draw_seconds("downtime_s", random());
  if (action == kCrash) {
    sim().crash_machine(m);
  } else {
    sim().shutdown_machine(m);
  }
  for (SimProcess* p : m->processes()) sim().boot_after(p, downtime);
  const char* what = action == kCrash ? "power loss on" : "clean shutdown of";
  record(absl::StrFormat("%s %s, reboot in %.3fs", what, m->name(), to_seconds(downtime)));
  count(action == kCrash ? "crashes" : "shutdowns");
}

}  // namespace weir::sim
