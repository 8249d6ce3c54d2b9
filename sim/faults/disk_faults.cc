#include "sim/faults/disk_faults.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace weir::sim {
namespace {

constexpr OptionSpec kSchema[] = {
    {kIntervalOption, OptionKind::kIntensity, "5", "1..20", 0.001, 3600,
     "mean seconds between faults"},
    {"duration_s", OptionKind::kPerFault, "1..10", "0.5..20", 0, 3600,
     "seconds a disk stays faulty"},
    {"kind_probability", OptionKind::kIntensity, "0.5", "0.2..0.8", 0, 1,
     "chance that each kind of fault below joins a spell (at least one always does)"},
    {"read_error_p", OptionKind::kIntensity, "0.01", "0..0.05", 0, 1, "EIO rate of reads"},
    {"write_error_p", OptionKind::kIntensity, "0.01", "0..0.05", 0, 1,
     "EIO rate of writes, appends and truncates"},
    {"sync_error_p", OptionKind::kIntensity, "0.01", "0..0.05", 0, 1, "EIO rate of syncs"},
    {"metadata_error_p", OptionKind::kIntensity, "0.005", "0..0.02", 0, 1,
     "EIO rate of open, rename, remove, list"},
    {"corrupt_read_p", OptionKind::kIntensity, "0.001", "0..0.01", 0, 1,
     "rate of reads that return a flipped bit"},
    {"slow_p", OptionKind::kIntensity, "0.2", "0..0.5", 0, 1, "rate of slow operations"},
    {"slow_delay_s", OptionKind::kPerFault, "0.05..0.5", "0.01..2", 0.001, 60,
     "extra delay of a slow operation (uniform in [d/2, d])"},
    {"full_probability", OptionKind::kIntensity, "0.1", "0..0.3", 0, 1,
     "chance that a spell also makes the disk full (ENOSPC)"},
    {"max_active", OptionKind::kCount, "1", "1..2", 1, 64,
     "most disks this injector faults at once"},
};

// The rate-like fields of DiskFaults, in a fixed order (the order of random draws).
struct RateField {
  std::string_view option;
  std::string_view label;
  double DiskFaults::*field;
};
constexpr RateField kRates[] = {
    {"read_error_p", "read_eio", &DiskFaults::read_error_probability},
    {"write_error_p", "write_eio", &DiskFaults::write_error_probability},
    {"sync_error_p", "sync_eio", &DiskFaults::sync_error_probability},
    {"metadata_error_p", "metadata_eio", &DiskFaults::metadata_error_probability},
    {"corrupt_read_p", "corrupt_read", &DiskFaults::corrupt_read_probability},
    {"slow_p", "slow", &DiskFaults::slow_probability},
};
constexpr size_t kRateCount = sizeof(kRates) / sizeof(kRates[0]);

}  // namespace

std::span<const OptionSpec> DiskFaultInjector::schema() {
  return kSchema;
}

DiskFaultInjector::DiskFaultInjector(SimCluster& cluster,
                                     const std::map<std::string, std::string>& options, bool swarm)
    : Injector(cluster, "DiskFaults", kSchema, options, swarm) {}

void DiskFaultInjector::inject() {
  if (static_cast<int64_t>(faulted_.size()) >= options().draw_count("max_active", random())) {
    return count("skipped");
  }
  std::vector<SimMachine*> candidates;
  for (SimMachine* m : cluster().role_machines()) {
    if (!faulted_.contains(m->name())) candidates.push_back(m);
  }
  if (candidates.empty()) return count("skipped");
  SimMachine* m = candidates[pick(candidates.size())];
  std::string what;
  const DiskFaults faults = draw_faults(&what);
  const Duration d = options().draw_seconds("duration_s", random());
  m->disk().set_faults(faults);
  faulted_.insert(m->name());
  record(absl::StrFormat("disk of %s: %s for %.3fs", m->name(), what, to_seconds(d)));
  undo_after(d, "disk of " + m->name(), [this, m] {
    m->disk().set_faults(DiskFaults{});
    faulted_.erase(m->name());
  });
  count("spells");
  if (faults.disk_full) count("disk_full");
}

DiskFaults DiskFaultInjector::draw_faults(std::string* what) {
  const double kind_p = options().draw("kind_probability", random());
  bool enabled[kRateCount];
  bool any = false;
  for (size_t i = 0; i < kRateCount; ++i) {
    enabled[i] = random().coinflip(kind_p);
    any = any || enabled[i];
  }
  DiskFaults f;
  f.disk_full = random().coinflip(options().draw("full_probability", random()));
  // A spell that changes nothing would only blur the schedule.
  if (!any && !f.disk_full) enabled[pick(kRateCount)] = true;
  std::vector<std::string> parts;
  for (size_t i = 0; i < kRateCount; ++i) {
    if (!enabled[i]) continue;
    const double p = options().draw(kRates[i].option, random());
    f.*kRates[i].field = p;
    parts.push_back(absl::StrFormat("%s=%g", kRates[i].label, p));
  }
  if (f.slow_probability > 0) {
    f.slow_delay = options().draw_seconds("slow_delay_s", random());
    parts.push_back(absl::StrFormat("slow_delay=%.3fs", to_seconds(f.slow_delay)));
  }
  if (f.disk_full) parts.push_back("full");
  *what = absl::StrJoin(parts, " ");
  return f;
}

}  // namespace weir::sim
