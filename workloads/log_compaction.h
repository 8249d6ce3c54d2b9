// LogCompaction: compacted partition logs (cleanup.policy=compact, broker/log/compaction.h)
// on the simulated disk under kill -9, power loss, EIO and corrupted reads, with the log
// cleaner running through LogManager::clean_one (and its cleaner-offset-checkpoint) while
// writers append keyed records from a small key space (tombstones among them), flush, and
// reopen (recover) after every kill or error. The model, kept outside the simulated processes,
// holds every record appended at each offset; after every recovery and once more after a
// clean close at the end, the writer checks that
//   (1) the log's batches are contiguous from its start to its end, each passing its CRC;
//   (2) every record it holds is the one appended at that offset (nothing invented, nothing
//       moved), and nothing acknowledged as flushed was cut;
//   (3) of every key, the latest record below the flushed end is still there, or a later
//       record of that key is (a latest tombstone may go: the key is then deleted).
// (3) is what compaction can break: the cleaner removes a record only for a later one of
// its key that is itself durable (sealed segments only), and a swap of cleaned segments must
// survive any crash. Option bug=cleaner_drops_latest runs the cleaner that drops latest
// records too (LogConfig::unsafe_cleaner_drops_latest), which the checker must catch.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/log/log_config.h"
#include "runtime/workload.h"

namespace weir::workloads {

class LogCompaction final : public Workload {
 public:
  struct Options {
    int writers = 2;
    int keys = 16;
    double flush_probability = 0.05;
    double clean_probability = 0.05;
    double tombstone_probability = 0.08;
    bool bug_drops_latest = false;
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);

  explicit LogCompaction(Options options);
  std::string_view name() const override { return "LogCompaction"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

  struct Record {
    std::string key;
    std::optional<std::string> value;  // nullopt: a tombstone
  };
  // One writer's log as the model knows it.
  struct Writer {
    std::map<int64_t, Record> appended;  // by offset; entries beyond a recovered end erased
    int64_t flushed_end = 0;             // every record below was acknowledged flushed
    uint64_t generation = 0;
    uint64_t open_failures_in_a_row = 0;
    std::string last_error;
    bool final_checked = false;
  };
  struct Stats {
    uint64_t records_appended = 0;
    uint64_t cleaner_passes = 0;
    uint64_t records_removed = 0;  // by the cleaner, as its reports say
    uint64_t recoveries = 0;
    uint64_t restarts = 0;
    uint64_t records_cut = 0;  // in the model but beyond a recovered end
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

}  // namespace weir::workloads
