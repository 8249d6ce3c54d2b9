// Workloads by name, as specs refer to them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/workload.h"

namespace weir::workloads {

absl::StatusOr<std::unique_ptr<Workload>> make_workload(
    const std::string& name, const std::map<std::string, std::string>& options);
std::vector<std::string> workload_names();

}  // namespace weir::workloads
