#include "sim/faults/injectors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/faults/attrition.h"
#include "sim/faults/clogging.h"
#include "sim/faults/connection_resets.h"
#include "sim/faults/disk_faults.h"
#include "sim/faults/partitions.h"

namespace weir::sim {
namespace {

using Options = std::map<std::string, std::string>;

struct Entry {
  std::string_view name;
  std::span<const OptionSpec> (*schema)();
  absl::Status (*validate)(const InjectorOptions&);  // beyond syntax and bounds; may be null
  std::unique_ptr<Workload> (*make)(SimCluster&, const Options&, bool);
};

template <class T>
std::unique_ptr<Workload> make(SimCluster& cluster, const Options& options, bool swarm) {
  return std::make_unique<T>(cluster, options, swarm);
}

// Sorted by name.
constexpr Entry kEntries[] = {
    {"Attrition", &Attrition::schema, &Attrition::validate, &make<Attrition>},
    {"Clogging", &Clogging::schema, nullptr, &make<Clogging>},
    {"ConnectionResets", &ConnectionResets::schema, nullptr, &make<ConnectionResets>},
    {"DiskFaults", &DiskFaultInjector::schema, nullptr, &make<DiskFaultInjector>},
    {"Partitions", &Partitions::schema, &Partitions::validate, &make<Partitions>},
};

absl::StatusOr<const Entry*> find_entry(std::string_view name) {
  for (const Entry& e : kEntries) {
    if (e.name == name) return &e;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown fault injector '", std::string(name),
                   "' (known: ", absl::StrJoin(injector_names(), ", "), ")"));
}

}  // namespace

std::vector<std::string> injector_names() {
  std::vector<std::string> names;
  for (const Entry& e : kEntries) names.emplace_back(e.name);
  return names;
}

absl::StatusOr<std::span<const OptionSpec>> injector_schema(std::string_view name) {
  auto entry = find_entry(name);
  if (!entry.ok()) return entry.status();
  return (*entry)->schema();
}

absl::StatusOr<std::unique_ptr<Workload>> make_injector(std::string_view name,
                                                        const Options& options, SimCluster& cluster,
                                                        bool swarm) {
  auto entry = find_entry(name);
  if (!entry.ok()) return entry.status();
  // Both modes are checked: a spec must stay valid when a sweep turns swarm mode on or off.
  for (bool mode : {false, true}) {
    auto parsed = InjectorOptions::parse((*entry)->schema(), options, mode);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(name), ": ", parsed.status().message()));
    }
    if ((*entry)->validate != nullptr) {
      if (auto s = (*entry)->validate(*parsed); !s.ok()) return s;
    }
  }
  return (*entry)->make(cluster, options, swarm);
}

absl::StatusOr<std::unique_ptr<Workload>> make_injector(const InjectorSpec& spec,
                                                        SimCluster& cluster, bool swarm) {
  // protobuf's Map iterates in no fixed order; std::map sorts.
  const Options options(spec.options().begin(), spec.options().end());
  return make_injector(spec.name(), options, cluster, swarm);
}

}  // namespace weir::sim
