// Weir's Kafka consumer with manual assignment (no groups yet), on the actor runtime. It exists
// so that Weir's benchmarks, workloads and tests read the way Kafka's Java consumer reads,
// through the codecs the broker uses: assign() partitions, seek() or let auto_offset_reset pick
// the start (ListOffsets), poll() records. One fetcher per broker keeps a fetch in flight
// while the application handles what the last one returned: poll() hands out a partition's
// data and, before it returns, lets the fetchers ask for that partition's next data, as
// Kafka's consumer pipelines. A partition has at most one fetch in flight and one response
// not yet handed out, so memory is bounded by about two max_partition_fetch_bytes per
// partition (and fetch_max_bytes per broker).
//
// Records are views: a ConsumerRecords owns the fetch responses (and decompressed batches) its
// records point into, so they are valid as long as it lives, and poll() copies no key, value
// or header. Batches are checked (CRC32C, as check.crcs) and decompressed whole; a fetch that
// starts in the middle of a batch gets the whole batch, and the records below the position are
// skipped; control batches are skipped.
//
// Errors come out of poll(): OFFSET_OUT_OF_RANGE with auto_offset_reset=none (OutOfRange, the
// position is left alone until the application seeks), a partition without a position and
// auto_offset_reset=none (FailedPrecondition, Kafka's NoOffsetForPartitionException), corrupt
// batches (DataLoss). Leader changes and lost connections are retried after a metadata
// refresh, invisibly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/client/partitioner.h"
#include "broker/log/record_batch.h"
#include "broker/log/records.h"
#include "runtime/clock.h"
#include "runtime/network.h"
#include "runtime/time.h"

namespace weir::broker::client {

enum class OffsetReset { kEarliest, kLatest, kNone };

struct ConsumerConfig {
  std::string bootstrap_servers;  // host:port[,host:port...]
  std::string client_id = "weir-consumer";
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_wait_ms = 500;
  int32_t max_partition_fetch_bytes = 1 << 20;
  int32_t fetch_max_bytes = 50 << 20;
  int32_t max_poll_records = 500;
  OffsetReset auto_offset_reset = OffsetReset::kLatest;
  int32_t request_timeout_ms = 30000;
  int32_t retry_backoff_ms = 100;
  int32_t metadata_max_age_ms = 300000;
  bool check_crcs = true;
  size_t batch_decompressed_bytes_max = 64 << 20;  // a bigger batch is an error, not memory
};

// One record as poll() returns it: views into the ConsumerRecords that holds it.
struct ConsumerRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
  log::TimestampType timestamp_type = log::TimestampType::kCreateTime;
  int32_t leader_epoch = -1;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<log::RecordHeader> headers;
};

// What one poll() returns: the records, in offset order per partition, and the bytes they
// view. Move-only; the views die with it.
class ConsumerRecords {
 public:
  ConsumerRecords() = default;
  ConsumerRecords(ConsumerRecords&&) = default;
  ConsumerRecords& operator=(ConsumerRecords&&) = default;
  ConsumerRecords(const ConsumerRecords&) = delete;
  ConsumerRecords& operator=(const ConsumerRecords&) = delete;

  const std::vector<ConsumerRecord>& records() const { return records_; }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  auto begin() const { return records_.begin(); }
  auto end() const { return records_.end(); }
  const ConsumerRecord& operator[](size_t i) const { return records_[i]; }

 private:
  friend class Consumer;
  std::vector<ConsumerRecord> records_;
  std::vector<std::shared_ptr<const void>> keep_;
};

struct ConsumerStats {
  uint64_t fetches = 0;
  uint64_t fetch_bytes = 0;  // the records fields of the responses
  uint64_t records = 0;      // handed out by poll()
  uint64_t resets = 0;       // positions set by ListOffsets
};

class Consumer {
 public:
  // Validates the configuration (inside an actor). Nothing is sent before assign() and poll().
  static absl::StatusOr<std::unique_ptr<Consumer>> create(ConsumerConfig config, INetwork& network,
                                                          IClock& clock);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Replaces the assignment. Partitions kept keep their positions; new ones start without one
  // (auto_offset_reset decides on the first poll unless seek() says).
  void assign(const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> assignment() const;
  // The next poll() returns `tp`'s records from `offset` on. InvalidArgument if not assigned.
  absl::Status seek(const TopicPartition& tp, int64_t offset);
  // Moves to the first (last + 1) offset, looked up lazily at the next poll() or position().
  absl::Status seek_to_beginning(const std::vector<TopicPartition>& partitions);
  absl::Status seek_to_end(const std::vector<TopicPartition>& partitions);
  // Kafka's pause/resume: a paused partition is not fetched and poll() returns none of its
  // records (what was already fetched waits for resume()) until it is resumed; it keeps its
  // position. InvalidArgument for a partition not assigned. An assignment change forgets the
  // pause of the partitions it drops.
  absl::Status pause(const std::vector<TopicPartition>& partitions);
  absl::Status resume(const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> paused() const;
  // The offset of the next record poll() returns for `tp`, looking it up if need be.
  absl::StatusOr<int64_t> position(const TopicPartition& tp);
  // The high watermark the last fetch of `tp` reported (-1 before any).
  int64_t high_watermark(const TopicPartition& tp) const;

  // Records from the assigned partitions: waits until some arrive or `timeout` passes (then
  // the result is empty). At most max_poll_records.
  absl::StatusOr<ConsumerRecords> poll(Duration timeout);

  // ListOffsets for partitions (assigned or not): earliest (log start) and end (high
  // watermark) offsets.
  absl::StatusOr<std::map<TopicPartition, int64_t>> beginning_offsets(
      const std::vector<TopicPartition>& partitions);
  absl::StatusOr<std::map<TopicPartition, int64_t>> end_offsets(
      const std::vector<TopicPartition>& partitions);
  // The number of partitions of `topic` (Metadata; no auto-creation).
  absl::StatusOr<int32_t> partition_count(const std::string& topic);

  // Stops the fetchers and closes the connections; poll() fails afterwards.
  void close();

  const ConsumerStats& stats() const;
  const ConsumerConfig& config() const;

  class Core;

 private:
  explicit Consumer(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

absl::Status validate_consumer_config(const ConsumerConfig& config);

}  // namespace weir::broker::client
