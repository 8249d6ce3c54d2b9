// Kafka's time index (`<base>.timeindex`): a sparse map from timestamp to offset, so that
// ListOffsets by timestamp and time-based retention need not read a segment. Entries are 12
// bytes, big-endian: the largest timestamp seen so far in the segment (i64) and the offset
// relative to the base (u32) of the batch that holds it. Timestamps strictly increase from
// entry to entry: an entry is added only when the segment's largest timestamp grew.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/ids.h"

namespace weir::broker::log {

class TimeIndex {
 public:
  static constexpr size_t kEntryBytes = 12;
  struct Entry {
    int64_t timestamp_ms = -1;
    Offset offset;
    bool operator==(const Entry&) const = default;
  };

  explicit TimeIndex(Offset base) : base_(base) {}

  // Entries from a file's bytes (trailing all-zero entries dropped). InvalidArgument when
  // the size is not a multiple of 12, or timestamps or offsets decrease.
  static absl::StatusOr<TimeIndex> decode(Offset base, std::string_view bytes);
  std::string encode(size_t first_entry = 0) const;

  // Adds (timestamp, offset) unless timestamp is not beyond the last entry's. Offsets must not
  // decrease (asserted).
  void maybe_append(int64_t timestamp_ms, Offset offset);
  // The largest entry whose timestamp is <= target, or {-1, base} when there is none.
  Entry lookup(int64_t target_ms) const;
  // Drops every entry whose offset is >= `offset`.
  void truncate_to(Offset offset);

  Offset base() const { return base_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }
  Entry last() const { return entries_.empty() ? Entry{-1, base_} : entries_.back(); }

 private:
  Offset base_;
  std::vector<Entry> entries_;
};

}  // namespace weir::broker::log
