// DiskDurability: writer processes append CRC-framed records to a log file, fsync now and then,
// and are killed or lose power at random (by injectors). The checker holds the truth outside
// the simulated processes: everything acknowledged as synced must survive every reboot; an
// unsynced tail may vanish or tear, but the reader's CRCs must catch it; no record that passes
// its CRC may hold bytes that were never written.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/workload.h"

namespace weir::workloads {

class DiskDurability final : public Workload {
 public:
  // Deliberate bugs, for the tests that prove the checker can fail.
  enum class Bug { kNone, kAckBeforeSync, kSkipCrc };

  struct Options {
    int writers = 3;
    int record_bytes_max = 256;
    double sync_probability = 0.3;
    int64_t file_bytes_max = 2 << 20;
    Bug bug = Bug::kNone;
  };

  static absl::StatusOr<std::unique_ptr<Workload>> create(
      std::map<std::string, std::string> options);

  explicit DiskDurability(Options options);
  std::string_view name() const override { return "DiskDurability"; }
  absl::Status setup(ICluster& cluster) override;
  void start(ICluster& cluster) override;
  void stop() override { stopped_ = true; }
  Verdict check(ICluster& cluster) override;
  std::map<std::string, double> metrics() const override;

  // What the harness knows about one writer, updated by the writer process itself.
  struct Writer {
    uint64_t appended_max = 0;  // last sequence appended (maybe not durable)
    uint64_t synced_max = 0;    // last sequence acknowledged durable
    uint64_t recoveries = 0;
    uint64_t syncs = 0;  // successful fsyncs: the liveness signal
    uint64_t syncs_at_stop = 0;
    uint64_t torn_tails = 0;
    uint64_t write_errors = 0;
  };
  struct Ledger {
    std::map<std::string, Writer> writers;
    std::vector<std::string> violations;
    void violation(std::string what);
  };

 private:
  Options options_;
  std::shared_ptr<Ledger> ledger_;
  bool stopped_ = false;
};

// The record format, exposed for tests: [u32 crc32c][u32 length][u64 seq][payload].
std::vector<uint8_t> encode_durability_record(const std::string& writer, uint64_t seq,
                                              size_t payload_bytes);

}  // namespace weir::workloads
