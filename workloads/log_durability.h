// LogDurability: the broker's partition logs (PartitionLog under a LogManager, with its
// recovery-point and log-start checkpoints) on the simulated disk, under kill -9, power loss,
// torn pages, EIO and corrupted reads. Writer processes append RecordBatch v2 batches whose
// bytes are a pure function of (partition, offset, generation), flush, truncate, delete
// records and apply retention at random points, read concurrently, and reopen (recover) after
// every kill or error. The ledger, kept outside the simulated processes, holds what each log
// may contain; after every recovery and once more after a clean close at the end, the writer
// checks that
//   (1) the log is a prefix of what was appended: every batch present is, byte for byte, the
//       one appended at its offset, contiguous from the log start;
//   (2) it holds every batch acknowledged as flushed (below a recovery point the log
//       reported), and its log start did not move beyond what calls asked for;
//   (3) the indexes agree with the log: reads from a batch's first and last offsets return
//       that batch, offset_for_timestamp matches the batches' timestamps, and the leader
//       epoch cache matches the batches' partitionLeaderEpoch;
//   (4) no read (the checker's or a concurrent reader's) returns a batch failing its CRC or
//       bytes never appended at that offset;
//   (5) the recovery-point and log-start checkpoints never claim more than the log holds.
// It exists because acks=all is only as good as the log's recovery argument
// (broker/log/README.md), and that argument must survive every fault the simulator has.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/log/log_config.h"
#include "runtime/workload.h"

namespace weir::workloads {

class LogDurability final : public Workload {
 public:
  // Deliberate bugs, for the tests that prove the checker can fail (LogConfig's TEST ONLY
  // flags).
  enum class Bug { kNone, kSkipCrc, kTrustIndex };

  struct Options {
    int writers = 3;
    int partitions = 3;  // per writer, spread over two log dirs
    double flush_probability = 0.1;
    double truncate_probability = 0.003;
    double delete_records_probability = 0.003;
    double retention_probability = 0.01;
    double checkpoint_probability = 0.05;
    // Batches whose lookups are checked after a recovery, besides the segment boundaries
    // and the part recovery validated (the final check looks every batch up).
    int lookups_per_recovery = 24;
    Bug bug = Bug::kNone;
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);

  explicit LogDurability(Options options);
  std::string_view name() const override { return "LogDurability"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

  // What the log may hold at one base offset: the batch appended there last.
  struct Batch {
    int64_t last = 0;
    uint64_t generation = 0;
    uint64_t digest = 0;  // of the bytes as the log must store them
    uint32_t size_bytes = 0;
  };
  // The ledger's view of one partition log.
  struct Partition {
    std::map<int64_t, Batch> batches;  // by base offset; entries beyond a cut are erased
    int64_t flushed_end = 0;           // every batch below was acknowledged flushed
    int64_t log_start_bound = 0;       // the largest log start any call may have set
    // The largest values the checkpoint files may hold (a failed write may have landed).
    int64_t recovery_point_claim_max = 0;
    int64_t log_start_claim_max = 0;
    // A truncation went below a checkpointed recovery point and no checkpoint followed yet:
    // the file may claim offsets the log legitimately no longer holds (as in Kafka).
    bool truncated_since_checkpoint = false;
  };
  struct Writer {
    uint64_t generation = 0;  // one per open of the LogManager; the batches' leader epoch
    uint64_t open_failures_in_a_row = 0;
    std::string last_error;
    bool final_checked = false;
    std::map<int32_t, Partition> partitions;
  };
  struct Stats {
    uint64_t batches_appended = 0;  // acknowledged
    uint64_t bytes_appended = 0;
    uint64_t batches_flushed = 0;  // became acknowledged flushed
    uint64_t batches_cut = 0;      // in the ledger but cut by a recovery
    uint64_t recoveries = 0;       // successful LogManager opens
    uint64_t restarts = 0;         // after an error or a cancelled check
    uint64_t truncations = 0;
    uint64_t records_deleted = 0;  // DeleteRecords calls
    uint64_t retention_runs = 0;
    uint64_t reads_checked = 0;
    uint64_t read_batches_checked = 0;
    uint64_t lookups_checked = 0;
    uint64_t read_errors = 0;
  };
  struct Ledger {
    std::map<std::string, Writer> writers;
    std::vector<std::string> violations;
    bool final_requested = false;
    Stats stats;
    void violation(std::string what);
  };

 private:
  Options options_;
  broker::log::LogConfig config_;  // drawn per seed in setup()
  std::shared_ptr<Ledger> ledger_;
};

// The batch a writer appends at `base` of `partition` in `generation` (offsets and leader
// epoch already in place), exposed for tests. Records carry timestamps strictly increasing
// with their offsets: log_durability_timestamp_ms.
std::string make_log_durability_batch(int32_t partition, int64_t base, uint64_t generation);
int64_t log_durability_timestamp_ms(int64_t offset, uint64_t generation);

}  // namespace weir::workloads
