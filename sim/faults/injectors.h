// Builds the simulator's fault injectors from a spec. It exists so that specs, the CLI and
// tests name injectors and their options as text ("Partitions", {"duration_s": "1..5"}) and
// get either a ready workload or an InvalidArgument error, before the run starts.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/workload.h"
#include "sim/cluster.h"
#include "sim/faults/options.h"
#include "sim/spec.pb.h"

namespace weir::sim {

// Every injector name make_injector() knows, sorted.
std::vector<std::string> injector_names();

// The options `name` accepts, with their defaults (InvalidArgument for an unknown name).
absl::StatusOr<std::span<const OptionSpec>> injector_schema(std::string_view name);

// An injector (Workload::is_injector() is true). In swarm mode it draws its intensity for this
// seed from cluster.random() within the ranges its options give. Unknown names, unknown
// options and malformed or out-of-range values are InvalidArgument, and then no randomness
// has been consumed.
absl::StatusOr<std::unique_ptr<Workload>> make_injector(
    std::string_view name, const std::map<std::string, std::string>& options, SimCluster& cluster,
    bool swarm);
absl::StatusOr<std::unique_ptr<Workload>> make_injector(const InjectorSpec& spec,
                                                        SimCluster& cluster, bool swarm);

}  // namespace weir::sim
