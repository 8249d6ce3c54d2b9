// ProduceVerify: Jepsen's queue checker against real brokers (broker/server; one, or several
// replicating each partition) on a real coord server, under process kills, power loss and
// network faults. Producers send unique values
// (acks=-1 and acks=1) and record what was acknowledged at which offset; consumers fetch
// concurrently and record what they saw; after healing every partition is read in full.
// Checks:
//   - lost: an acknowledged value missing from the final log (one broker flushes every batch
//     before it acknowledges, flush.messages=1, so an ack means it is on disk; replicated,
//     acks=all means min.insync replicas have it; acks=1 losses are counted, not violations);
//   - moved: an acknowledged value found at another offset than its ack said;
//   - duplicated: one value at two offsets (the workload never retries a send; as
//     IdempotentProducer, Weir's idempotent producer retries every send until it is
//     acknowledged, and the brokers' deduplication must keep each value at one offset);
//   - offsets dense and increasing from the log start to the high watermark;
//   - order per producer and partition kept;
//   - consumers never saw a value at an offset that the final log holds differently (nobody
//     reads data that is later lost).
// IdempotentProducer (option idempotent=true) sends through Weir's Producer with
// enable_idempotence, acks=all and unbounded retries instead of one raw request per batch: the
// same checks then say that retries across leader failover, lost responses and restarts
// neither duplicate nor reorder a value. Option bug=producer_accept_duplicates makes brokers
// append retries again: the checker must report the duplicates.
// Options bug=high_watermark_from_leader and bug=truncate_to_high_watermark break the
// brokers' replication rules (see broker_config.h weir_bug): the checker must report the
// acknowledged values they lose. Option bug=no_flush leaves flushing to the OS (Kafka's default,
// fine with replication, fatal without): the checker must report acknowledged values lost to power
// loss.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/workload.h"
#include "workloads/coord_ensemble.h"
#include "workloads/isr_nemesis.h"

namespace weir::workloads {

class ProduceVerify final : public Workload {
 public:
  struct Options {
    int partitions = 3;
    int producers_per_client = 2;
    int consumers_per_client = 1;
    int records_per_batch_max = 3;
    double acks_one_probability = 0.3;
    int64_t think_ms_max = 20;
    bool bug_no_flush = false;
    // Replication: brokers, each topic's replication factor and min.insync.replicas, unclean
    // elections, and whether every append is flushed before it is acknowledged.
    int brokers = 1;
    int replication_factor = 1;
    int min_insync = 1;
    bool unclean = false;
    bool flush_every_message = true;
    // A broken replication rule in the brokers (weir.bug), which the checker must catch.
    std::string broker_bug;
    // IsrShrinkUnclean: aimed faults drive partition 0 through one scenario (isr_nemesis.h).
    IsrScenario scenario = IsrScenario::kNone;
    // IdempotentProducer: producers are Weir's idempotent Producer (see above).
    bool idempotent = false;
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);
  // IsrShrinkUnclean: one partition, acks=all only, three replicas, and a scenario
  // (option scenario=leader_loss|last_replica_standing) whose min.insync.replicas it sets.
  static absl::StatusOr<std::unique_ptr<Workload>> create_isr_shrink_unclean(
      std::map<std::string, std::string> options);
  // IdempotentProducer: idempotent=true, acks=all only.
  static absl::StatusOr<std::unique_ptr<Workload>> create_idempotent_producer(
      std::map<std::string, std::string> options);
  explicit ProduceVerify(Options options);
  ~ProduceVerify() override;

  std::string_view name() const override {
    if (options_.idempotent) return "IdempotentProducer";
    return options_.scenario == IsrScenario::kNone ? "ProduceVerify" : "IsrShrinkUnclean";
  }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  void stop() override;
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

  struct History;

 private:
  Options options_;
  CoordEnsemble coord_;
  std::string bootstrap_;
  std::shared_ptr<History> history_;
  bool stopped_ = false;
  uint64_t lost_acks_one_ = 0;
  double healed_after_s_ = 0;
  uint64_t offline_partitions_ = 0;
  IsrNemesisReport nemesis_;
  IFaults* faults_ = nullptr;
  // The scenario's own violations (who led when nobody should have).
  std::vector<std::string> scenario_problems() const;
};

}  // namespace weir::workloads
