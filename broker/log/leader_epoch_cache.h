// Kafka's leader epoch cache: for each leader epoch the partition has seen, the first offset
// its leader appended. Followers ask the leader for the end offset of their latest epoch
// (OffsetsForLeaderEpoch) and truncate to it, which is what keeps replicas' logs prefixes of
// one another across leader changes. Kept in memory, persisted as `leader-epoch-checkpoint`
// (version "0", count, then "epoch startOffset" lines) whenever it changes. The batches
// themselves carry their epoch, so recovery re-derives the entries for the part of the log it
// validates; the file only has to be right for the flushed part.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/ids.h"
#include "runtime/filesystem.h"

namespace weir::broker::log {

inline constexpr char kLeaderEpochCheckpointName[] = "leader-epoch-checkpoint";

class LeaderEpochCache {
 public:
  struct Entry {
    LeaderEpoch epoch;
    Offset start_offset;
    bool operator==(const Entry&) const = default;
  };

  // The entries of dir's checkpoint; empty when the file is missing. A malformed file is
  // reported (DataLoss) so the caller can warn and start empty.
  static absl::StatusOr<std::vector<Entry>> load(IFileSystem& fs, const std::string& dir);
  static absl::StatusOr<std::vector<Entry>> decode(std::string_view text);
  std::string encode() const;

  void reset(std::vector<Entry> entries) { entries_ = std::move(entries); }
  // Records that `epoch` starts at `start_offset`; ignored unless epoch is newer than the
  // latest one. Returns whether the cache changed.
  bool assign(LeaderEpoch epoch, Offset start_offset);
  // Drops the entries that start at or after `end_offset` (the log was cut there).
  bool truncate_from_end(Offset end_offset);
  // Drops the entries wholly below `start_offset`; the epoch in force there now starts there.
  bool truncate_from_start(Offset start_offset);
  // Kafka's endOffsetFor: (the largest epoch <= `epoch`, the start offset of the next
  // epoch), or (epoch, log_end_offset) for the latest epoch; nullopt when `epoch` is newer
  // than every known epoch or nothing is known.
  std::optional<std::pair<LeaderEpoch, Offset>> end_offset_for(LeaderEpoch epoch,
                                                               Offset log_end_offset) const;
  std::optional<LeaderEpoch> latest_epoch() const;
  // The epoch in force at `offset` (the latest entry starting at or below it); nullopt below
  // the first entry.
  std::optional<LeaderEpoch> epoch_for(Offset offset) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;  // epochs and start offsets both increasing
};

}  // namespace weir::broker::log
