// Kafka's offset index (`<base>.index`): a sparse map from offset to file position, one entry
// per index_interval_bytes of log, so that a fetch finds its batch with a binary search and a
// short scan of batch headers instead of reading the segment from the start. Entries are 8
// bytes, big-endian: offset relative to the segment's base (u32) and position (u32). As in
// Kafka, an entry names the *last* offset of the batch that starts at its position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/ids.h"

namespace weir::broker::log {

class OffsetIndex {
 public:
  static constexpr size_t kEntryBytes = 8;
  struct Entry {
    Offset offset;
    uint32_t position = 0;
    bool operator==(const Entry&) const = default;
  };

  explicit OffsetIndex(Offset base) : base_(base) {}

  // Entries from a file's bytes. Trailing all-zero entries (Kafka preallocates the file) are
  // dropped. InvalidArgument when the file is not a plausible index for a log of `log_bytes`:
  // size not a multiple of 8, offsets or positions not increasing, a position beyond the log.
  static absl::StatusOr<OffsetIndex> decode(Offset base, std::string_view bytes,
                                            uint64_t log_bytes);
  std::string encode(size_t first_entry = 0) const;

  // Adds an entry; offset and position must be beyond the last entry's (asserted), and the
  // offset within 2^31 of the base.
  void append(Offset offset, uint32_t position);
  // The largest entry whose offset is <= target, or {base, 0} when there is none.
  Entry lookup(Offset target) const;
  // Drops every entry whose offset is >= `offset`.
  void truncate_to(Offset offset);

  Offset base() const { return base_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  Offset base_;
  std::vector<Entry> entries_;
};

}  // namespace weir::broker::log
