#include "workloads/registry.h"

#include "workloads/controller_failover.h"
#include "workloads/coord_linearizability.h"
#include "workloads/coord_sessions.h"
#include "workloads/disk_durability.h"
#include "workloads/group_churn.h"
#include "workloads/harness_self_test.h"
#include "workloads/log_compaction.h"
#include "workloads/log_durability.h"
#include "workloads/nondeterministic.h"
#include "workloads/produce_verify.h"
#include "workloads/rpc_stress.h"
#include "workloads/zab_safety.h"

namespace weir::workloads {
namespace {

using Factory = absl::StatusOr<std::unique_ptr<Workload>> (*)(std::map<std::string, std::string>);

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> f = {
      {"ControllerFailover", &ControllerFailover::create},
      {"CoordLinearizability", &CoordLinearizability::create},
      {"CoordSessions", &CoordSessions::create},
      {"DiskDurability", &DiskDurability::create},
      {"GroupChurn", &GroupChurn::create},
      {"HarnessSelfTest", &HarnessSelfTest::create},
      {"IdempotentProducer", &ProduceVerify::create_idempotent_producer},
      {"IsrShrinkUnclean", &ProduceVerify::create_isr_shrink_unclean},
      {"LogCompaction", &LogCompaction::create},
      {"LogDurability", &LogDurability::create},
      {"Nondeterministic", &Nondeterministic::create},
      {"ProduceVerify", &ProduceVerify::create},
      {"RpcStress", &RpcStress::create},
      {"ZabSafety", &ZabSafety::create},
  };
  return f;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Workload>> make_workload(
    const std::string& name, const std::map<std::string, std::string>& options) {
  auto it = factories().find(name);
  if (it == factories().end()) return absl::NotFoundError("unknown workload " + name);
  return it->second(options);
}

std::vector<std::string> workload_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : factories()) names.push_back(name);
  return names;
}

}  // namespace weir::workloads
