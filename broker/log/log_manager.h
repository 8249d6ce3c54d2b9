// The broker's partition logs across its log.dirs: on start it finds every
// `<topic>-<partition>` directory, finishes interrupted deletions, and opens (recovers) each
// log with the recovery point and log start offset from Kafka's checkpoint files at the log
// dir's root (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`), and the
// high watermark replication last reported (`replication-offset-checkpoint`). It creates
// and removes logs, writes those checkpoints, and gives the broker periodic flush and retention
// hooks. A damaged (malformed) checkpoint costs a full recovery (from offset 0) with a warning,
// never a failed start: the checkpoints only ever make recovery cheaper. One that cannot be
// read (EIO) fails the start: taking it for empty would undo a durable DeleteRecords. The high
// watermark checkpoint is only a hint (a lost one leaves it at the log start until the ISR
// reports), so no error in it fails a start.
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
#include "broker/ids.h"
#include "broker/log/log_config.h"
#include "broker/log/partition_log.h"
#include "runtime/clock.h"
#include "runtime/filesystem.h"
#include "runtime/sync.h"

namespace weir::broker::log {

inline constexpr char kRecoveryPointCheckpointName[] = "recovery-point-offset-checkpoint";
inline constexpr char kLogStartOffsetCheckpointName[] = "log-start-offset-checkpoint";
inline constexpr char kHighWatermarkCheckpointName[] = "replication-offset-checkpoint";
// Each compacted log's first dirty offset (Kafka's name and format); a hint like the high
// watermark's: a lost one only makes the next pass re-read the whole log.
inline constexpr char kCleanerCheckpointName[] = "cleaner-offset-checkpoint";

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  // Kafka's directory name "<topic>-<partition>".
  std::string dir_name() const;
};

// The partition a directory name stands for; nullopt for anything else (Kafka's legal topic
// characters [a-zA-Z0-9._-], at most 249 of them, and a non-negative partition).
std::optional<TopicPartition> parse_partition_dir(std::string_view name);

using OffsetCheckpoint = std::map<TopicPartition, Offset>;
std::string encode_offset_checkpoint(const OffsetCheckpoint& offsets);
// DataLoss on anything malformed (see checkpoint_file.h).
absl::StatusOr<OffsetCheckpoint> decode_offset_checkpoint(std::string_view text);

class LogManager {
 public:
  // Opens every log in `log_dirs` (creating the directories if needed).
  static absl::StatusOr<std::unique_ptr<LogManager>> open(IFileSystem& fs, IClock& clock,
                                                          std::vector<std::string> log_dirs,
                                                          LogConfig default_config);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // The log of `tp`, created (in the log dir holding the fewest logs) if it does not exist.
  absl::StatusOr<PartitionLog*> create(const TopicPartition& tp,
                                       std::optional<LogConfig> config = std::nullopt);
  // nullptr when there is no such log.
  PartitionLog* get(const TopicPartition& tp) const;
  // Deletes the log and its directory (crash-safe); NotFound when there is none.
  absl::Status remove(const TopicPartition& tp);
  // Writes the checkpoint files in every log dir from the logs' current values.
  absl::Status checkpoint();
  // Writes only `replication-offset-checkpoint` (Kafka does so every
  // replica.high.watermark.checkpoint.interval.ms, more often than the others).
  absl::Status checkpoint_high_watermarks();
  // maybe_flush() on every log (flush.ms), then checkpoint().
  absl::Status flush_due();
  // apply_retention(now_ms) on every log, then checkpoint().
  absl::Status apply_retention(int64_t now_ms);
  // One pass of the log cleaner (Kafka's LogCleaner thread, one at a time): of the compacted
  // logs whose dirty ratio reaches their min.cleanable.dirty.ratio, the dirtiest is compacted
  // (PartitionLog::compact) and `cleaner-offset-checkpoint` rewritten. Returns the partition
  // cleaned and what was done, or nullopt when no log was due.
  struct CleanerPass {
    TopicPartition partition;
    CompactionReport report;
  };
  // `stop`, when given, ends a pass at its next batch once it is true (a stopping broker).
  absl::StatusOr<std::optional<CleanerPass>> clean_one(int64_t now_ms, size_t offset_map_bytes_max,
                                                       const bool* stop = nullptr);
  // The first dirty offset the cleaner has for `tp` (nullopt: never cleaned here).
  std::optional<Offset> first_dirty(const TopicPartition& tp) const;
  // Closes every log (flushing it) and writes the checkpoints.
  absl::Status close();

  std::vector<TopicPartition> partitions() const;
  const std::vector<std::string>& log_dirs() const { return log_dirs_; }

 private:
  struct Entry {
    size_t dir_index = 0;
    std::unique_ptr<PartitionLog> log;
    std::optional<Offset> first_dirty;  // cleaner-offset-checkpoint
    // A pass found a damaged batch in it (DataLoss): skipped until the next start, as Kafka
    // marks such partitions uncleanable, so that one bad segment does not take every pass. (An
    // I/O error only ends that pass.)
    bool uncleanable = false;
  };
  LogManager(IFileSystem& fs, IClock& clock, std::vector<std::string> log_dirs,
             LogConfig default_config);
  absl::Status load_dir(size_t dir_index);
  absl::StatusOr<OffsetCheckpoint> read_checkpoint(const std::string& dir, const char* name);
  absl::Status write_cleaner_checkpoint(size_t dir_index);
  std::string partition_path(size_t dir_index, const TopicPartition& tp) const;

  IFileSystem& fs_;
  IClock& clock_;
  const std::vector<std::string> log_dirs_;
  const LogConfig default_config_;
  ActorMutex create_lock_;
  std::map<TopicPartition, Entry> logs_;
};

}  // namespace weir::broker::log
