// ZabSafety: a ZAB ensemble (voters and observers) replicates a history-hashing state machine
// while clients write through any server and injectors kill, crash, pause and partition the
// servers. The ledger, kept outside the simulated processes, checks: at most one established
// leader per epoch; one payload per zxid; every server incarnation applies a contiguous run of
// the committed history (no committed txn skipped or lost); every acknowledged write is
// committed; after healing, every server takes writes again (election and recovery time are
// reported).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/workload.h"

namespace weir::workloads {

class ZabSafety final : public Workload {
 public:
  struct Options {
    int voters = 3;
    int observers = 1;
    int writers_per_client = 2;
    int64_t tick_ms = 100;
    int64_t snapshot_every_txns = 200;
    bool bug_commit_without_quorum = false;
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit ZabSafety(Options options);
  ~ZabSafety() override;

  std::string_view name() const override { return "ZabSafety"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  void stop() override;
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

  struct Ledger;

 private:
  Options options_;
  std::shared_ptr<Ledger> ledger_;
  std::vector<std::string> client_addresses_;
};

}  // namespace weir::workloads
