// The pure half of log compaction (Kafka's LogCleaner, cleanup.policy=compact): the map from
// each key to its latest offset in a log's dirty section, and the rewrite of a run of sealed
// segments that keeps, of every key, only its latest record.
//
// Unlike Kafka's cleaner, the rewrite leaves the offsets of the run covered without gaps: a
// batch whose records all go is absorbed into the batch before it (its lastOffsetDelta grows to
// cover them) or, where that would misstate a producer's sequences or a leader epoch, replaced
// by an empty batch of the same leader epoch spanning the removed offsets. So every segment
// still starts where its predecessor ends and each batch where the one before ended: recovery,
// replication (a follower fetching a compacted range appends it as it is) and the fetch path
// keep the contiguity they check. Clients see what Kafka's compacted logs show them too:
// batches whose lastOffsetDelta reaches past their last record, and empty batches (KIP-98).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/ids.h"
#include "broker/log/record_batch.h"

namespace weir::broker::log {

// Each key's latest offset, within a memory budget (log.cleaner.dedupe.buffer.size). Keys are
// stored whole, so two keys never share an entry (Kafka stores an MD5 of the key and accepts
// the collision risk). Only looked up, never iterated: its order cannot leak into a run.
class OffsetMap {
 public:
  // What one entry costs beyond its key bytes (the node and the hash slot), for the budget.
  static constexpr size_t kEntryOverheadBytes = 64;

  explicit OffsetMap(size_t bytes_max) : bytes_max_(bytes_max) {}
  // Records that `key` was written at `offset`; offsets arrive in increasing order. False,
  // recording nothing, when `key` is new and would take the map past its budget.
  bool put(std::string_view key, Offset offset);
  std::optional<Offset> latest(std::string_view key) const;
  size_t size() const { return map_.size(); }
  size_t bytes_used() const { return bytes_used_; }

 private:
  const size_t bytes_max_;
  size_t bytes_used_ = 0;
  absl::flat_hash_map<std::string, int64_t> map_;
};

// What a cleaning pass did to the batches it rewrote.
struct CleanStats {
  int64_t batches_read = 0;
  int64_t records_read = 0;
  int64_t records_kept = 0;
  int64_t tombstones_dropped = 0;
  int64_t batches_rewritten = 0;  // kept in part: the kept records copied under its header
  int64_t batches_removed = 0;    // every record gone
  int64_t gaps_absorbed = 0;      // runs of removed offsets the batch before now covers
  int64_t empty_batches = 0;      // written to cover the other runs of removed offsets
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  CleanStats& operator+=(const CleanStats& o);
};

// Which record of a source batch survives: the latest of its key (by `map`), unless it is a
// tombstone and `drop_tombstones` (its segment is past delete.retention.ms). Records without
// a key are dropped (a compacted topic refuses them on produce; these predate the policy).
// Offsets at or beyond `map_end` (not in the map's range) always survive with their key.
struct RetainRule {
  const OffsetMap* map = nullptr;
  Offset map_end;
  bool drop_tombstones = false;
  bool unsafe_drop_latest = false;  // LogConfig::unsafe_cleaner_drops_latest
};

// Rewrites the batches of one run of sealed segments into the batches of one new segment,
// covering [base, end) exactly and contiguously. Batches go out through `emit` in order as soon
// as they are final (at most one batch is held back, to be extended), so memory is one batch.
class CleanedRunBuilder {
 public:
  using Emit = std::function<absl::Status(std::string_view batch)>;
  CleanedRunBuilder(Offset base, size_t decompressed_bytes_max, Emit emit);

  // The next source batch (CRC-checked by the caller), contiguous with the one before: DataLoss
  // otherwise (a baseOffset, which the CRC leaves out, damaged on the disk), never a crash.
  absl::Status add(const BatchView& batch, const RetainRule& rule);
  // Ends the run at `end` (the offset after the last source batch): emits what is held back.
  // DataLoss when the batches did not reach `end`.
  absl::Status finish(Offset end);
  const CleanStats& stats() const { return stats_; }

 private:
  struct Gap {
    Offset start;
    Offset end;  // exclusive
    int32_t leader_epoch = -1;
  };
  absl::StatusOr<std::optional<std::string>> filter(const BatchView& batch, const RetainRule& rule);
  void note_removed(const BatchHeader& h);
  absl::Status close_gaps();
  absl::Status emit_held();

  Offset covered_;  // the offsets before this are emitted, held back, or in gaps_
  const size_t decompressed_bytes_max_;
  Emit emit_;
  std::vector<Gap> gaps_;            // removed offsets since the held batch, by leader epoch
  std::optional<std::string> held_;  // the last kept batch, its lastOffsetDelta still open
  std::string storage_;              // decompression, reused
  CleanStats stats_;
};

// InvalidArgument (INVALID_RECORD) unless every record of `batch` has a key: a compacted topic
// refuses keyless records, as Kafka's LogValidator does (it must look inside the batch,
// decompressing it, for that).
absl::Status check_keyed(const BatchView& batch, size_t decompressed_bytes_max);

// An empty batch (no records) of `leader_epoch` covering [base, end): Kafka's shape for the
// batches its cleaner keeps only for their offsets.
std::string empty_batch(Offset base, Offset end, int32_t leader_epoch);

}  // namespace weir::broker::log
