// One partition this broker hosts: its log, its high watermark and the waiters of a fetch long
// poll. It exists apart from the log because the high watermark is replication's notion, not
// the log's: a log holds what was appended; the high watermark says what consumers may see.
// With one replica (this step) every append is committed at once, so the high watermark
// follows the log end; replication (a later step) moves it by the ISR's progress instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/ids.h"
#include "broker/log/partition_log.h"
#include "runtime/wait_list.h"

namespace weir::broker {

// Fired after every append to any partition of a broker; `generation` counts the appends, so a
// fetch long poll waits for "anything appended since I looked" without missing a wake-up.
struct AppendSignal {
  WaitList waiters;
  uint64_t generation = 0;
  void fire() {
    ++generation;
    waiters.fire_all();
  }
};

// Set once a log failed for good (a failed fsync or write: its outcome is unknown until the log
// is reopened and recovered). Kafka takes the log dir offline and, with no dir left, stops the
// broker; with one log dir per broker here, the broker stops and its supervisor restarts it.
struct StorageHealth {
  absl::Status failure;
  WaitList* notify = nullptr;  // fired on the first failure
  void fail(const absl::Status& status) {
    if (!failure.ok()) return;
    failure = status;
    if (notify != nullptr) notify->fire_all();
  }
};

class Partition {
 public:
  Partition(std::string topic, int32_t index, log::PartitionLog* log, LeaderEpoch leader_epoch,
            AppendSignal* appended, StorageHealth* health = nullptr);
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  log::PartitionLog& log() { return *log_; }
  LeaderEpoch leader_epoch() const { return leader_epoch_; }
  Offset high_watermark() const { return high_watermark_; }
  Offset log_start_offset() const { return log_->log_start_offset(); }
  Offset log_end_offset() const { return log_->log_end_offset(); }
  // The partition was deleted (or its broker is stopping): requests holding it must not use it.
  bool closed() const { return closed_; }
  void mark_closed() { closed_ = true; }

  // Appends the caller's mutable copy of a produce request's records and, the only replica
  // having it, commits it: the high watermark moves to the new log end and fetchers wake.
  absl::StatusOr<log::AppendInfo> append(absl::Span<uint8_t> records);

 private:
  std::string topic_;
  int32_t index_;
  log::PartitionLog* log_;  // owned by the LogManager
  LeaderEpoch leader_epoch_;
  Offset high_watermark_;
  AppendSignal* appended_;
  StorageHealth* health_;
  bool closed_ = false;
};

}  // namespace weir::broker
