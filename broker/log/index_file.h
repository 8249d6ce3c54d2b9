// What Kafka's two sparse indexes share on disk: a file of fixed-size big-endian entries,
// written in the order entries are added. The in-memory entries are the truth while the log
// is open; the file catches up when the segment is flushed or rolled (write_pending), so
// appending a batch never costs an index write. Recovery rebuilds an index from the log
// whenever the file is missing, inconsistent, or covers bytes that were never flushed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/filesystem.h"

namespace weir::broker::log {

// Tracks how much of an index's entries the file holds, and brings the file up to date.
class IndexFileState {
 public:
  // The file holds `entries` valid entries (after loading it or writing it empty).
  void reset(size_t entries) {
    file_entries_ = entries;
    clean_entries_ = entries;
  }
  // The in-memory index dropped entries down to `entries` (truncation).
  void truncated(size_t entries) {
    if (entries < clean_entries_) clean_entries_ = entries;
  }
  // The file's contents are unknown (it is to be rewritten from scratch).
  void invalidate() {
    file_entries_ = SIZE_MAX;
    clean_entries_ = 0;
  }
  bool dirty(size_t entries) const { return entries != clean_entries_ || entries != file_entries_; }
  // Cuts stale entries off the file and writes entries [clean, total) given as `encode(first)`
  // (the encoding of entries from `first` on), one write.
  template <class Encode>
  absl::Status write_pending(IFile& file, size_t entry_bytes, size_t total, Encode&& encode) {
    if (file_entries_ > clean_entries_) {
      if (auto s = file.truncate(clean_entries_ * entry_bytes); !s.ok()) return s;
      file_entries_ = clean_entries_;
    }
    if (total > clean_entries_) {
      const std::string bytes = encode(clean_entries_);
      auto span = absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      if (auto s = file.write(clean_entries_ * entry_bytes, span); !s.ok()) return s;
    }
    reset(total);
    return absl::OkStatus();
  }

 private:
  size_t file_entries_ = 0;
  size_t clean_entries_ = 0;
};

}  // namespace weir::broker::log
