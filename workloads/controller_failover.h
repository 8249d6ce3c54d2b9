// ControllerFailover: Kafka's ZooKeeper-mode controller under faults aimed at it. Four brokers
// on one coord server; topics are created, deleted and grown all the time (each a controller
// decision) while a producer writes with acks=all, and a nemesis keeps finding the controller
// of the moment (/controller) and kills it, cuts its power, freezes it past its session
// timeout, cuts it off from coord or from the other brokers.
// Checks:
//   - one controller per epoch, and no write by a controller after a newer epoch was claimed
//     (ControllerWitness, from the zxids of the claims and of the writes);
//   - in coord, no partition's leader epoch or controller epoch ever goes back (a stale
//     controller's or leader's unconditional write would);
//   - after healing, within a bounded time: every partition has a leader and a full ISR, and
//     every broker's metadata (leader, leader epoch, ISR of every partition; the controller;
//     the topics) is what coord holds;
//   - the producer's topic takes a write on every partition again.
// Metrics: controller failover times (fault on the controller to the next epoch's claim) as a
// histogram, write gaps, fenced writes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/workload.h"
#include "workloads/controller_witness.h"
#include "workloads/coord_ensemble.h"

namespace weir::workloads {

class ControllerFailover final : public Workload {
 public:
  struct Options {
    int brokers = 4;
    int replication_factor = 3;
    int steady_partitions = 4;
    int churn_topics_max = 3;
    double nemesis_interval_s = 3;  // mean wait between faults aimed at the controller
    std::string broker_bug;         // weir.bug, for the broken variants
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  explicit ControllerFailover(Options options);
  ~ControllerFailover() override;

  std::string_view name() const override { return "ControllerFailover"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  void stop() override;
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

  struct State;

 private:
  void nemesis();
  void churn();
  void produce();
  void monitor_epochs();
  // The first way some broker's metadata differs from coord, or "" when all agree.
  std::string divergence();

  Options options_;
  CoordEnsemble coord_;
  std::vector<std::string> addresses_;
  IFaults* faults_ = nullptr;
  std::unique_ptr<ControllerWitness> witness_;
  std::shared_ptr<State> state_;
  bool stopped_ = false;
};

}  // namespace weir::workloads
