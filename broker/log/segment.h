// One segment of a partition log: `<base>.log` holding whole RecordBatch v2 batches back to
// back, with its sparse `<base>.index` and `<base>.timeindex` (Kafka's layout, so operators'
// tools carry over). A segment knows its extent (base offset, next offset, bytes), its
// largest timestamp, and how to find the batch holding an offset. It is the unit that
// PartitionLog rolls, flushes, recovers, truncates and deletes.
//
// Appends cost one write of the caller's bytes; index entries are kept in memory and reach
// their files when the segment is flushed or rolled, so an index file is only trusted for a
// segment that was flushed after its last append (see PartitionLog's recovery).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/ids.h"
#include "broker/log/index_file.h"
#include "broker/log/offset_index.h"
#include "broker/log/record_batch.h"
#include "broker/log/time_index.h"
#include "runtime/filesystem.h"
#include "runtime/time.h"

namespace weir::broker::log {

// Where a batch lies in a segment.
struct BatchLocation {
  uint64_t position = 0;
  BatchHeader header;
};

// The byte ranges of a segment file that this process has verified (every batch in them
// CRC-checked and chained, the bytes no checksum covers confirmed), and so may serve by file
// range without reading them: broker/log/README.md has the argument. Ranges are merged; past
// kRangesMax disjoint ones, further ranges are not recorded (those reads keep copying).
class VerifiedRanges {
 public:
  static constexpr size_t kRangesMax = 1024;
  void add(uint64_t begin, uint64_t end);
  bool contains(uint64_t begin, uint64_t end) const;
  // Forgets everything at or beyond `position` (the file was cut there).
  void truncate(uint64_t position);
  size_t range_count() const { return ranges_.size(); }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end, disjoint, not adjacent
};

// What a full validation of a segment found.
struct SegmentRecovery {
  uint64_t valid_bytes = 0;
  uint64_t file_bytes = 0;
  int64_t valid_batches = 0;
  const char* damage = nullptr;  // why the bytes after valid_bytes were cut; null when clean
};

class Segment {
 public:
  // Creates the three files of a new, empty segment (cutting any leftover files of that
  // name, which recovery has already judged unreachable).
  // `suffix` follows each file's kind ("" for a live segment; the cleaner writes its output
  // as ".cleaned" and commits it as ".swap", Kafka's names).
  static absl::StatusOr<std::unique_ptr<Segment>> create(IFileSystem& fs, const std::string& dir,
                                                         Offset base, int32_t index_interval_bytes,
                                                         TimePoint now,
                                                         std::string_view suffix = "");
  // Opens an existing segment's files without reading them; load_trusted() or recover()
  // must follow. Missing index files are created empty.
  static absl::StatusOr<std::unique_ptr<Segment>> open(IFileSystem& fs, const std::string& dir,
                                                       Offset base, int32_t index_interval_bytes,
                                                       TimePoint now, std::string_view suffix = "");
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // For a segment below the recovery point (flushed): loads the index files, checks them for
  // sanity, and scans the batch headers after the last index entry for the segment's end and
  // largest timestamp. FailedPrecondition when anything is inconsistent: the caller must
  // recover() the segment instead.
  absl::Status load_trusted();
  // Validates every batch (header, CRC unless check_crc is false, offsets contiguous from the
  // base), rebuilds both indexes, cuts the file at the first invalid batch and makes the cut
  // and the indexes durable. With rewrite, writes each validated batch back in place before
  // the final fsync, so that pages an earlier failed fsync dropped become durable too.
  // on_batch sees each valid batch's header, in order.
  absl::StatusOr<SegmentRecovery> recover(
      bool check_crc, bool rewrite,
      const std::function<void(const BatchHeader&)>& on_batch = nullptr);

  // Appends one or more whole, contiguous batches (`bytes` is exactly them, in order, offsets
  // already assigned and continuing next_offset()): one write, then the index entries.
  absl::Status append(std::string_view bytes, absl::Span<const BatchView> batches);
  // The first batch whose last offset is >= target, among batches starting before
  // position_limit; nullopt when there is none.
  absl::StatusOr<std::optional<BatchLocation>> find_batch(Offset target, uint64_t position_limit);
  // Calls `f` with the header of every batch whose last offset is >= from, in order (headers
  // only: for state derived from batch metadata, such as the producers'). DataLoss on a header
  // that does not parse.
  absl::Status scan_headers(Offset from, const std::function<void(const BatchHeader&)>& f);
  // The first batch whose maxTimestamp is >= target_ms, nullopt when there is none.
  absl::StatusOr<std::optional<BatchLocation>> find_batch_by_time(int64_t target_ms);
  // `size` bytes at `position` (fewer at the end of the file), as two reads agreed on them:
  // the CRC does not cover every byte a fetch serves.
  absl::StatusOr<std::string> read(uint64_t position, size_t size);
  // The same with one read: for the fetch path, whose caller checks every batch's CRC and that
  // base offsets run on from the agreed first header, and so catches a corrupt read in the
  // bytes the CRC leaves out without reading everything twice.
  absl::StatusOr<std::string> read_once(uint64_t position, size_t size);
  // Whether the bytes [position, position + size) are verified (VerifiedRanges), and records
  // that a caller has verified them.
  bool verified(uint64_t position, uint64_t size) const {
    return verified_.contains(position, position + size);
  }
  void note_verified(uint64_t position, uint64_t size) { verified_.add(position, position + size); }
  const VerifiedRanges& verified_ranges() const { return verified_; }
  // The segment's file, for a fetch sent as a file range (kept open by the holder).
  const std::shared_ptr<IFile>& log_file() const { return log_; }
  // Drops the batch holding `offset` and everything after it (durably). Returns the bytes cut.
  absl::StatusOr<uint64_t> truncate_to(Offset offset);
  // Writes the pending index entries and fsyncs the three files.
  absl::Status flush();
  // The segment stops being the active one: a final time index entry, then flush().
  absl::Status seal();
  // Removes the three files (the caller syncs the directory). Handles stay open until the
  // segment is destroyed, so a read in progress finishes.
  absl::Status remove_files(IFileSystem& fs);
  // Renames the three files to carry `suffix` instead (the caller syncs the directory); the
  // log file last into a marked name, first back to the plain one (segment.cc says why). Open
  // handles follow their files.
  absl::Status rename_files(IFileSystem& fs, std::string_view suffix);

  Offset base_offset() const { return base_; }
  Offset next_offset() const { return next_offset_; }
  uint64_t size_bytes() const { return size_bytes_; }
  bool empty() const { return size_bytes_ == 0; }
  int64_t max_timestamp_ms() const { return max_timestamp_ms_; }
  // The last offset of the first batch that carries max_timestamp_ms() (as Kafka's segments).
  Offset offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  TimePoint created() const { return created_; }
  const std::string& log_path() const { return log_path_; }
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }
  // True while appends have not been flushed.
  bool dirty() const { return dirty_; }

 private:
  class HeaderScan;
  Segment(std::string dir, Offset base, int32_t index_interval_bytes, TimePoint now,
          std::string_view suffix);
  std::string path_of(const char* kind) const;
  absl::Status open_files(IFileSystem& fs, OpenMode mode);
  absl::Status load_indexes();
  // Recomputes the end, largest timestamp and index bookkeeping from the batch headers after
  // the last index entry. FailedPrecondition on an implausible header.
  absl::Status scan_tail();
  void note_batch(uint64_t position, const BatchHeader& header);
  // Reads the batch at `position` into buffer_; false when it is invalid on disk.
  absl::StatusOr<bool> validate_confirmed(uint64_t position, uint64_t file_bytes, bool check_crc,
                                          BatchHeader& header);
  absl::StatusOr<bool> validate_at(uint64_t position, uint64_t file_bytes, bool check_crc,
                                   BatchHeader& header);
  absl::StatusOr<std::optional<BatchLocation>> walk_headers(
      uint64_t position, uint64_t limit, const std::function<bool(const BatchHeader&)>& stop);
  absl::Status write_indexes();
  absl::Status cut(uint64_t position);

  const std::string dir_;
  const Offset base_;
  const int32_t index_interval_bytes_;
  const TimePoint created_;
  std::string suffix_;
  std::string log_path_;
  std::shared_ptr<IFile> log_;  // shared: a fetch's file range keeps it open
  std::unique_ptr<IFile> index_file_;
  std::unique_ptr<IFile> time_index_file_;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
  IndexFileState offset_index_state_;
  IndexFileState time_index_state_;
  Offset next_offset_;
  uint64_t size_bytes_ = 0;
  int64_t max_timestamp_ms_ = -1;
  Offset offset_of_max_timestamp_;
  uint64_t bytes_since_last_index_entry_ = 0;
  bool dirty_ = false;
  // Appended bytes (their batches were CRC-checked before the write), bytes recovery validated,
  // and ranges a copying fetch checked.
  VerifiedRanges verified_;
  std::string buffer_;  // reused by validation
};

}  // namespace weir::broker::log
