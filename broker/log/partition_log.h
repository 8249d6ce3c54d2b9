// The log of one partition (Kafka's Log/UnifiedLog): segments in `<dir>/<topic>-<partition>/`,
// appends of producers' batches with offsets assigned in place, fetches of whole batches,
// retention, DeleteRecords, truncation for replication, the flush policy, and the leader
// epoch cache. It is where a produced record becomes durable, so its recovery argument (a
// recovered log is a prefix of what was appended and holds every flushed batch; indexes agree
// with the log; no corrupt batch is ever served) is what acks=all rests on. Format and
// argument: broker/log/README.md.
//
// Failure policy (as coord's TxnLog): after a failed or cancelled mutating I/O the log is
// *failed*: every later call returns that error until the owner reopens it. A failed fsync
// may have dropped dirty pages the page cache still shows, so nothing later may vouch for
// them; reopening validates and rewrites the unflushed tail.
//
// Concurrency: any number of actors may call. Mutations (append, flush, retention,
// delete_records_before, truncate_to, close) are serialized by an ActorMutex; reads and
// lookups take no lock (they see whole appends only, and a truncation that races a read makes
// the read fail with Unavailable rather than return bytes it cut). All calls suspend.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/ids.h"
#include "broker/log/compaction.h"
#include "broker/log/leader_epoch_cache.h"
#include "broker/log/log_config.h"
#include "broker/log/producer_state.h"
#include "broker/log/record_batch.h"
#include "runtime/clock.h"
#include "runtime/filesystem.h"
#include "runtime/sync.h"

namespace weir::broker::log {

class Segment;

struct AppendInfo {
  Offset first_offset;
  Offset last_offset;
  int64_t log_append_time_ms = -1;  // -1 when the topic uses CreateTime
  Offset log_start_offset;
  int64_t record_count = 0;
  // A retry of an idempotent producer's batch the log already holds: nothing was appended and
  // the offsets (and LogAppendTime) are the original batch's.
  bool duplicate = false;
};

// How a read hands over its bytes.
enum class ReadMode {
  kCopy,       // `records` holds whole batches, read and checked now
  kFileRange,  // `file` names them in the segment file when they are verified (see read())
};

// Batches for a fetch. With kCopy, or when a kFileRange read had to fall back to copying,
// `records` holds whole batches and `file` is null. Otherwise `records` is empty and the bytes
// are [file_position, file_position + size_bytes) of `file` (the segment's open file, kept
// open by this pointer): whole batches, except that the last may be cut short by bytes_max, as
// Kafka's file slices are (clients drop a trailing partial batch). segment_path/file_position/
// size_bytes name the bytes in the segment file either way.
struct ReadResult {
  std::string records;
  std::shared_ptr<IFile> file;
  std::string segment_path;
  uint64_t file_position = 0;
  uint64_t size_bytes = 0;
  Offset log_start_offset;
  Offset log_end_offset;
};

// What open() did, also traced as PartitionLogRecovered.
struct RecoveryReport {
  int64_t segments = 0;            // after recovery
  int64_t segments_validated = 0;  // read in full with their CRCs checked
  int64_t segments_removed = 0;    // beyond a cut, or out of sequence
  int64_t index_rebuilds = 0;      // trusted segments whose indexes had to be rebuilt
  uint64_t bytes_cut = 0;
  std::string reason;  // of the cut; empty when nothing was cut
  Offset log_end_offset;
};

// The part of a compacted log the cleaner may rewrite (PartitionLog::cleanable_extent): whole
// sealed segments below the high watermark, so that replicas only ever clean what they all hold
// alike and a follower never truncates into a range it cleaned (truncation stays above the high
// watermark except after an unclean election), and older than min.compaction.lag.ms.
struct CleanableExtent {
  Offset first_dirty;        // where the dirty section starts (clamped into the log)
  Offset end;                // the first offset the cleaner may not touch
  uint64_t clean_bytes = 0;  // in segments wholly before first_dirty
  uint64_t dirty_bytes = 0;  // in the cleanable segments after them
  double dirty_ratio() const {
    const uint64_t total = clean_bytes + dirty_bytes;
    return total == 0 ? 0.0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
  }
};

// What one cleaning pass may use.
struct CleanerOptions {
  Offset first_dirty;  // the cleaner checkpoint's offset; the log start when unknown
  size_t offset_map_bytes_max = size_t{128} << 20;  // log.cleaner.dedupe.buffer.size
  int64_t now_ms = 0;          // wall clock: delete.retention.ms and min.compaction.lag.ms
  const bool* stop = nullptr;  // when given and true, the pass ends at its next batch
};

// What a cleaning pass did.
struct CompactionReport {
  Offset first_dirty;     // where the next pass starts: the checkpoint to write
  bool map_full = false;  // the offset map ran out of room before the cleanable end
  int64_t groups_rewritten = 0;
  int64_t groups_abandoned = 0;  // the log changed under the pass (truncation, retention)
  int64_t segments_before = 0;   // of the rewritten groups
  int64_t segments_after = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  CleanStats stats;
};

class PartitionLog {
 public:
  // Opens (creating if needed) the log in `dir` and recovers it: segments wholly below
  // `recovery_point` are trusted (their indexes sanity-checked), every later batch is
  // validated, a torn or corrupt tail is cut and later segments removed, indexes rebuilt.
  // `log_start_offset` is the checkpointed one (0 when unknown).
  static absl::StatusOr<std::unique_ptr<PartitionLog>> open(IFileSystem& fs, IClock& clock,
                                                            std::string dir, LogConfig config,
                                                            Offset recovery_point,
                                                            Offset log_start_offset = Offset(0));
  // Deletes a log directory (crash-safe: a marker file makes a later start finish the job).
  static absl::Status remove_directory(IFileSystem& fs, const std::string& dir);
  // True when `dir` holds the marker of an unfinished remove_directory.
  static bool removal_pending(IFileSystem& fs, const std::string& dir);
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Appends a produce request's batches (the caller's mutable copy: offsets, leader epoch and
  // LogAppendTime are written into it). All batches are validated first; on any error
  // nothing is appended: DataLoss (CORRUPT_MESSAGE), InvalidArgument (INVALID_RECORD),
  // OutOfRange with MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE in the message.
  // Batches of idempotent producers are checked against the producer state first (see
  // producer_state.h): a retry of a batch the log holds is answered with its offsets
  // (AppendInfo::duplicate) and appends nothing; OutOfRange with OUT_OF_ORDER_SEQUENCE_NUMBER,
  // FailedPrecondition with INVALID_PRODUCER_EPOCH or UNKNOWN_PRODUCER_ID append nothing and
  // leave the log healthy.
  absl::StatusOr<AppendInfo> append(absl::Span<uint8_t> records, LeaderEpoch leader_epoch);
  // Appends batches a leader sent to this follower, as they are: offsets, leader epochs and
  // timestamps were set by the leader. Each batch's CRC is checked, the first must start at
  // the log end offset, offsets must be contiguous and epochs never go back (the leader epoch
  // cache learns each new one); on any error nothing is appended. Except: a first batch that
  // starts below the log end and reaches past it (a compacted leader's, compaction.h) makes
  // the log cut back to that batch's base first, then append (or, when that is no batch
  // boundary here, return FailedPrecondition with the log cut below it: fetch again).
  absl::StatusOr<AppendInfo> append_replicated(std::string_view records);
  // A new leader records that its epoch starts at the log end offset (Kafka does so when it
  // becomes leader, before any append), so OffsetsForLeaderEpoch answers a follower of an
  // older epoch with where that epoch ended even before the new leader has appended.
  absl::Status assign_epoch(LeaderEpoch epoch);
  // Whole batches from the one holding `start`, at most bytes_max bytes (but the first batch
  // even if larger when min_one_batch), never a batch reaching end_offset_max, all from one
  // segment. OutOfRange when start is below log_start_offset() or beyond log_end_offset().
  // kFileRange returns a file range only for bytes the segment has verified (appended by this
  // process, validated by recovery, or checked by an earlier copying read); other bytes are
  // read and checked as with kCopy, which verifies them for the next read.
  // With skip_empty_batches (a consumer's fetch), empty batches where the read would begin
  // (the cleaner's, compaction.h) are passed over as the offset gaps they stand for: the read
  // begins at the first batch after them that holds records, as Kafka's compacted logs have
  // gaps there, and some clients (kafka-python 2.0) fail on a response holding no record.
  absl::StatusOr<ReadResult> read(Offset start, int32_t bytes_max, Offset end_offset_max,
                                  bool min_one_batch, ReadMode mode = ReadMode::kCopy,
                                  bool skip_empty_batches = false);
  // The first offset whose record timestamp is >= timestamp_ms (ListOffsets), nullopt when
  // every record is older or the log holds none (log start = log end).
  absl::StatusOr<std::optional<Offset>> offset_for_timestamp(int64_t timestamp_ms);
  // The largest timestamp in the log and the offset Kafka reports for it (ListOffsets -3,
  // KIP-734), from the segments' own bookkeeping: nullopt for a log without timestamps.
  std::optional<std::pair<int64_t, Offset>> max_timestamp() const;

  // fsyncs everything appended and advances the recovery point to the log end offset.
  absl::Status flush();
  // flush() if flush.ms has passed since the last one (for a periodic caller).
  absl::Status maybe_flush();
  // DeleteRecords: log start offset becomes `offset` (<= log end offset, else OutOfRange);
  // whole segments below it are deleted. Returns the new log start offset.
  absl::StatusOr<Offset> delete_records_before(Offset offset);
  // Deletes the oldest segments past retention.ms (by their largest timestamp) or beyond
  // retention.bytes; never the active segment.
  absl::Status apply_retention(int64_t now_ms);
  // Log compaction (partition_log_cleaner.cc, README "Compaction"). The extent a pass would
  // take from `first_dirty` ...
  CleanableExtent cleanable_extent(Offset first_dirty, int64_t now_ms) const;
  // ... and the pass: builds the map of each key's latest offset over the dirty section (as far
  // as it fits), then rewrites the cleanable segments below the map's end in groups that fit in
  // one segment, each into `<base>.log.cleaned`, committed as `.swap` and swapped in under the
  // mutation lock (appends wait only for the swap, never for the rewrite). Crash-safe: open()
  // finishes a committed swap and drops an uncommitted one. FailedPrecondition unless the log
  // is compacted; DataLoss when a source batch is damaged (the pass stops, the log stays).
  absl::StatusOr<CompactionReport> compact(const CleanerOptions& options);
  // Drops every batch from the one holding `offset` on (durably); log end offset becomes the
  // base of that batch. Below the first segment, the log restarts empty at `offset`.
  absl::Status truncate_to(Offset offset);
  // Flushes and closes; later calls fail.
  absl::Status close();
  // Closes and deletes the directory and everything in it.
  absl::Status remove();

  Offset log_start_offset() const { return log_start_offset_; }
  Offset log_end_offset() const;
  Offset recovery_point() const { return recovery_point_; }
  // The high watermark replication last reported (set_high_watermark), kept within
  // [log start, log end]: the LogManager checkpoints it (`replication-offset-checkpoint`) and
  // restores it on open, so a restarted leader does not answer ListOffsets and consumers as if
  // nothing were committed. A hint, never a source of truth: a follower truncates by leader
  // epoch, and a leader's high watermark only rises from it as its ISR catches up.
  Offset high_watermark() const;
  void set_high_watermark(Offset hw) { high_watermark_ = hw; }
  int64_t size_bytes() const;
  size_t segment_count() const { return segments_.size(); }
  std::vector<Offset> segment_base_offsets() const;
  std::optional<std::pair<LeaderEpoch, Offset>> end_offset_for_epoch(LeaderEpoch epoch) const;
  const std::vector<LeaderEpochCache::Entry>& leader_epochs() const { return epochs_.entries(); }
  const RecoveryReport& recovery_report() const { return report_; }
  // What the log knows of its idempotent producers: derived from its batches, kept across
  // restarts and truncations by `<offset>.snapshot` files (producer_snapshot.h).
  const ProducerStateTable& producers() const { return producers_; }
  const absl::Status& failure() const { return failed_; }
  const std::string& dir() const { return dir_; }
  const LogConfig& config() const { return config_; }
  // A topic's configuration changed (or was read from coord after the log was opened with the
  // broker's defaults): later appends, rolls, flushes and retention passes use it. Recovery
  // options and the segment index interval of existing segments are not affected.
  absl::Status update_config(const LogConfig& config);

 private:
  class Mutation;
  struct Recovery;
  PartitionLog(IFileSystem& fs, IClock& clock, std::string dir, LogConfig config);

  absl::Status recover(Offset recovery_point, Offset log_start_offset);
  absl::Status remove_stray_files(std::vector<Offset>& bases);
  absl::Status complete_swaps();
  // Compaction (partition_log_cleaner.cc).
  absl::StatusOr<Offset> build_offset_map(absl::Span<const std::shared_ptr<Segment>> segments,
                                          Offset first_dirty, Offset end, OffsetMap& map,
                                          const bool* stop);
  absl::Status clean_group(absl::Span<const std::shared_ptr<Segment>> group, const OffsetMap& map,
                           Offset map_end, const CleanerOptions& options, uint64_t truncations,
                           CompactionReport& report);
  absl::Status swap_in(absl::Span<const std::shared_ptr<Segment>> group,
                       std::unique_ptr<Segment> cleaned, uint64_t truncations);
  absl::Status recover_segments(const std::vector<Offset>& bases, Offset recovery_point);
  absl::Status load_epochs();
  absl::Status save_epochs_if_changed();
  absl::Status fail(absl::Status status, const char* op);
  absl::Status roll(TimePoint now);
  bool should_roll(const Segment& active, const BatchHeader& next, TimePoint now) const;
  absl::Status write_batches(std::string_view bytes, absl::Span<const BatchView> batches,
                             TimePoint now);
  absl::Status flush_locked();
  absl::Status delete_oldest_segments(size_t count, const char* reason);
  absl::Status truncate_fully(Offset offset);
  absl::Status truncate_locked(Offset offset);
  // Producer state (partition_log_producers.cc).
  absl::StatusOr<std::optional<ProducerBatch>> check_producers(
      absl::Span<const BatchView> batches) const;
  void note_producers(absl::Span<const BatchView> batches);
  absl::Status write_producer_snapshot();
  AppendInfo duplicate_append(const ProducerBatch& original) const;
  absl::Status load_producer_state();
  absl::StatusOr<std::vector<Offset>> producer_snapshot_offsets();
  absl::Status remove_producer_snapshots(const std::function<bool(Offset)>& doomed);
  absl::Status replay_producers_from(Offset from);
  std::shared_ptr<Segment> segment_for(Offset offset) const;
  static bool truncating(uint64_t generation) { return generation % 2 == 1; }
  static absl::Status truncated_during_read() {
    return absl::UnavailableError("PartitionLog: truncated during the read; retry");
  }
  absl::StatusOr<ReadResult> read_from(std::shared_ptr<Segment> segment, uint64_t position,
                                       int32_t bytes_max, Offset end_offset_max, bool min_one_batch,
                                       const BatchHeader& first);
  absl::StatusOr<ReadResult> read_file_range(std::shared_ptr<Segment> segment, uint64_t position,
                                             int32_t bytes_max, Offset end_offset_max,
                                             bool min_one_batch, const BatchHeader& first);
  absl::StatusOr<Offset> refine_by_timestamp(Segment& segment, uint64_t position,
                                             const BatchHeader& header, int64_t timestamp_ms);

  IFileSystem& fs_;
  IClock& clock_;
  const std::string dir_;
  LogConfig config_;  // Kafka's topic configs are dynamic: see update_config
  ActorMutex lock_;
  // Held by a compaction pass throughout (it takes lock_ only to swap): close() and remove()
  // wait for it, after setting closing_ to make it stop at its next batch.
  ActorMutex cleaner_lock_;
  bool closing_ = false;
  absl::Status failed_;
  // Ordered by base offset, contiguous; the last is the active segment. shared_ptr: a read
  // in progress keeps a deleted segment alive.
  std::vector<std::shared_ptr<Segment>> segments_;
  Offset log_start_offset_;
  Offset recovery_point_;
  Offset high_watermark_{0};
  LeaderEpochCache epochs_;
  std::string saved_epochs_;  // the checkpoint's contents on disk
  int64_t unflushed_messages_ = 0;
  TimePoint last_flush_;
  // Incremented when a truncation starts and when it ends (odd: in progress), so that a read
  // racing one notices it.
  uint64_t truncations_ = 0;
  RecoveryReport report_;
  // Reflects exactly the batches below log_end_offset(): recorded as each run of batches is
  // written, so a snapshot taken at a roll in the middle of an append holds what precedes it.
  ProducerStateTable producers_;
};

}  // namespace weir::broker::log
