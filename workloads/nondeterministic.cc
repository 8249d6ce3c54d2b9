#include "workloads/nondeterministic.h"

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"

namespace weir::workloads {

absl::StatusOr<std::unique_ptr<Workload>> Nondeterministic::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  const int objects = static_cast<int>(o.get_int("objects", 16, 2, 1024));
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<Nondeterministic>(objects));
}

void Nondeterministic::start(ICluster&) {
  delay(100ms);  // some deterministic history first, so the divergence is not at event one
  std::vector<std::unique_ptr<int>> owned;
  absl::flat_hash_map<const int*, int> by_address;  // the bug: pointer keys, salted hash order
  for (int i = 0; i < objects_; ++i) {
    owned.push_back(std::make_unique<int>(i));
    by_address[owned.back().get()] = i;
  }
  for (const auto& [ptr, index] : by_address) {
    if (stopped_) break;
    TraceEvent(Severity::kInfo, "NondeterministicVisit").detail("Index", index);
    delay(10ms);
  }
}

}  // namespace weir::workloads
