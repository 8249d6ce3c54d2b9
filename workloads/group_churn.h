// GroupChurn: a consumer group under churn. Members (a role of their own, so Attrition kills,
// freezes and cuts them like brokers) join, consume, commit, leave, restart without leaving and
// stall longer than max.poll.interval.ms, while producers write with acks=all to three
// replicating brokers whose leaders (and the group's coordinator) are killed and moved.
// Checks:
//   - within one generation no partition is owned by two members (each member reports what its
//     SyncGroup gave it for which generation);
//   - the group's committed offsets never move backwards (a monitor reads them all along, and
//     every acknowledged commit is compared with the ones acknowledged before it);
//   - every acknowledged record is consumed by the group at least once (members consume from
//     the committed offsets, and commit only what they have consumed);
//   - after churn stops the group stabilises (every member in one generation, every partition
//     owned) within a bounded time; rebalance stops are reported as a histogram.
// Option bug= sets the brokers' weir.bug to a broken coordinator rule the checker must catch:
// group_reuse_generation (a rebalance keeps the generation number: two owners in one
// generation), group_commit_any_generation (commits from fenced members accepted: offsets
// move back) and cleaner_drops_latest (the log cleaner drops the latest record of a key too:
// a coordinator reloading __consumer_offsets loses commits, so offsets move back). The offsets
// topic runs with small segments and an eager cleaner (knobs drawn per seed), so coordinators
// load compacted logs and replicas fetch compacted ranges.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/future.h"
#include "runtime/workload.h"
#include "workloads/coord_ensemble.h"

namespace weir::workloads {

class GroupChurn final : public Workload {
 public:
  struct Options {
    int partitions = 6;
    int members = 3;
    int brokers = 3;
    int producers_per_client = 1;
    int64_t think_ms_max = 50;
    int32_t session_timeout_ms = 2000;
    int32_t rebalance_timeout_ms = 4000;
    int32_t heartbeat_interval_ms = 500;
    int64_t commit_interval_ms = 300;
    double leave_probability = 0.01;    // per poll: a clean LeaveGroup and a restart
    double abandon_probability = 0.01;  // per poll: a restart without LeaveGroup
    double stall_probability = 0.005;   // per poll: a handler longer than max.poll.interval.ms
    std::string broker_bug;
    std::string assignor = "range";
    // Members are static (group.instance.id = their process name, KIP-345): a restart without
    // LeaveGroup takes the old member's place and assignment without a rebalance.
    bool static_members = false;
    // Once the group is stable, one member is killed (kill -9, not restarted), and the time
    // until the others are stable again is reported (rebalance_after_kill_s).
    bool kill_one = false;
  };
  struct History;

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit GroupChurn(Options options);
  ~GroupChurn() override;

  std::string_view name() const override { return "GroupChurn"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  void stop() override;
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

 private:
  Options options_;
  CoordEnsemble coord_;
  std::string bootstrap_;
  std::shared_ptr<History> history_;
  double stabilised_after_s_ = -1;
  IFaults* faults_ = nullptr;
  void kill_one_member(ICluster& cluster);
  Future<void> monitor_;
};

}  // namespace weir::workloads
