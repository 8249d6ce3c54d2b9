#include "broker/log/segment.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/log/log_io.h"
#include "buggify/code_probe.h"
#include "runtime/assert.h"

namespace weir::broker::log {
namespace {

constexpr size_t kScanWindowBytes = 64 << 10;
constexpr uint64_t kIndexFileBytesMax = 64 << 20;

enum class ScanOutcome { kBatch, kEnd, kInvalid };

std::string file_path(const std::string& dir, Offset base, const char* suffix) {
  return absl::StrCat(dir, "/", segment_file_name(base, suffix));
}

// A header, and whether its batch fits in the bytes before `limit`.
bool header_fits(std::string_view bytes, uint64_t position, uint64_t limit, BatchHeader& out) {
  auto h = parse_batch_header(bytes);
  if (!h.ok() || bytes.size() < kBatchHeaderBytes) return false;
  if (h->size_bytes() > limit - position) return false;
  out = *h;
  return true;
}

absl::StatusOr<std::string> read_small_file(IFile& file) {
  auto size = file.size();
  if (!size.ok()) return size.status();
  if (*size > kIndexFileBytesMax) return absl::FailedPreconditionError("index file too large");
  std::string bytes(*size, '\0');
  auto n = read_agreed(file, 0, bytes);  // no checksum covers an index entry
  if (!n.ok()) return n.status();
  bytes.resize(*n);
  return bytes;
}

}  // namespace

// Reads batch headers through a window, so that a scan costs one read per window rather than
// one per batch. The window is read until two reads agree (the CRC does not cover baseOffset
// or batchLength, and a scan does not read whole batches anyway), and a header that looks
// invalid is read again until reads agree, so that a transiently corrupted read is never
// taken for damage nor for a batch that is not there.
class Segment::HeaderScan {
 public:
  HeaderScan(IFile& file, uint64_t limit) : file_(file), limit_(limit) {}

  absl::StatusOr<ScanOutcome> at(uint64_t position, BatchHeader& out) {
    if (position >= limit_) return ScanOutcome::kEnd;
    auto bytes = fetch(position);
    if (!bytes.ok()) return bytes.status();
    if (header_fits(*bytes, position, limit_, out)) return ScanOutcome::kBatch;
    window_.clear();  // may hold a corrupted copy
    std::string direct;
    auto attempt = [&]() -> absl::StatusOr<std::optional<uint64_t>> {
      direct.assign(std::min<uint64_t>(kBatchHeaderBytes, limit_ - position), '\0');
      auto n = read_fully(file_, position, direct);
      if (!n.ok()) return n.status();
      direct.resize(*n);
      if (header_fits(direct, position, limit_, out)) return std::optional<uint64_t>();
      return fingerprint_of(direct);
    };
    auto stable = read_until_stable(absl::StrCat(file_.path(), " at ", position), attempt);
    if (!stable.ok()) return stable.status();
    CODE_PROBE(*stable, "broker_log.header_reread_cured_corrupt_read");
    return *stable ? ScanOutcome::kBatch : ScanOutcome::kInvalid;
  }

 private:
  absl::StatusOr<std::string_view> fetch(uint64_t position) {
    const uint64_t want = std::min<uint64_t>(kBatchHeaderBytes, limit_ - position);
    if (position < window_position_ || position + want > window_position_ + window_.size()) {
      window_.assign(std::min<uint64_t>(kScanWindowBytes, limit_ - position), '\0');
      auto n = read_agreed(file_, position, window_);
      if (!n.ok()) return n.status();
      window_.resize(*n);
      window_position_ = position;
    }
    return std::string_view(window_).substr(position - window_position_, want);
  }

  IFile& file_;
  const uint64_t limit_;
  std::string window_;
  uint64_t window_position_ = 0;
};

Segment::Segment(std::string dir, Offset base, int32_t index_interval_bytes, TimePoint now,
                 std::string_view suffix)
    : dir_(std::move(dir)),
      base_(base),
      index_interval_bytes_(index_interval_bytes),
      created_(now),
      suffix_(suffix),
      log_path_(path_of(kLogSuffix)),
      offset_index_(base),
      time_index_(base),
      next_offset_(base),
      offset_of_max_timestamp_(base) {}

Segment::~Segment() = default;

std::string Segment::path_of(const char* kind) const {
  return absl::StrCat(file_path(dir_, base_, kind), suffix_);
}

absl::Status Segment::open_files(IFileSystem& fs, OpenMode mode) {
  auto log = fs.open(log_path_, mode);
  if (!log.ok()) return log.status();
  auto index = fs.open(path_of(kIndexSuffix), OpenMode::kCreate);
  if (!index.ok()) return index.status();
  auto time_index = fs.open(path_of(kTimeIndexSuffix), OpenMode::kCreate);
  if (!time_index.ok()) return time_index.status();
  log_ = std::move(*log);
  index_file_ = std::move(*index);
  time_index_file_ = std::move(*time_index);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::create(IFileSystem& fs, const std::string& dir,
                                                         Offset base, int32_t index_interval_bytes,
                                                         TimePoint now, std::string_view suffix) {
  std::unique_ptr<Segment> segment(new Segment(dir, base, index_interval_bytes, now, suffix));
  if (auto s = segment->open_files(fs, OpenMode::kCreate); !s.ok()) return s;
  for (IFile* f :
       {segment->log_.get(), segment->index_file_.get(), segment->time_index_file_.get()}) {
    auto size = f->size();
    if (!size.ok()) return size.status();
    if (*size > 0) {
      if (auto s = f->truncate(0); !s.ok()) return s;
    }
  }
  return segment;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::open(IFileSystem& fs, const std::string& dir,
                                                       Offset base, int32_t index_interval_bytes,
                                                       TimePoint now, std::string_view suffix) {
  std::unique_ptr<Segment> segment(new Segment(dir, base, index_interval_bytes, now, suffix));
  if (auto s = segment->open_files(fs, OpenMode::kReadWrite); !s.ok()) return s;
  return segment;
}

void Segment::note_batch(uint64_t position, const BatchHeader& header) {
  if (header.max_timestamp > max_timestamp_ms_) {
    max_timestamp_ms_ = header.max_timestamp;
    offset_of_max_timestamp_ = header.last();
  }
  if (bytes_since_last_index_entry_ > static_cast<uint64_t>(index_interval_bytes_)) {
    offset_index_.append(header.last(), static_cast<uint32_t>(position));
    time_index_.maybe_append(max_timestamp_ms_, offset_of_max_timestamp_);
    bytes_since_last_index_entry_ = 0;
  }
  bytes_since_last_index_entry_ += header.size_bytes();
  next_offset_ = Offset(header.last().value() + 1);
  size_bytes_ = position + header.size_bytes();
}

absl::Status Segment::load_indexes() {
  auto index_bytes = read_small_file(*index_file_);
  if (!index_bytes.ok()) return index_bytes.status();
  auto log_bytes = log_->size();
  if (!log_bytes.ok()) return log_bytes.status();
  auto index = OffsetIndex::decode(base_, *index_bytes, *log_bytes);
  if (!index.ok()) return absl::FailedPreconditionError(index.status().message());
  auto time_bytes = read_small_file(*time_index_file_);
  if (!time_bytes.ok()) return time_bytes.status();
  auto time_index = TimeIndex::decode(base_, *time_bytes);
  if (!time_index.ok()) return absl::FailedPreconditionError(time_index.status().message());
  offset_index_ = std::move(*index);
  time_index_ = std::move(*time_index);
  offset_index_state_.reset(index_bytes->size() / OffsetIndex::kEntryBytes);
  time_index_state_.reset(time_bytes->size() / TimeIndex::kEntryBytes);
  // Trailing preallocated zeros were dropped from memory: rewrite the files without them.
  if (offset_index_state_.dirty(offset_index_.size())) {
    offset_index_state_.truncated(offset_index_.size());
  }
  if (time_index_state_.dirty(time_index_.size())) time_index_state_.truncated(time_index_.size());
  return absl::OkStatus();
}

absl::Status Segment::scan_tail() {
  auto file_bytes = log_->size();
  if (!file_bytes.ok()) return file_bytes.status();
  const TimeIndex::Entry last_time = time_index_.last();
  max_timestamp_ms_ = last_time.timestamp_ms;
  offset_of_max_timestamp_ = last_time.offset;
  uint64_t position = 0;
  next_offset_ = base_;
  size_bytes_ = 0;
  bytes_since_last_index_entry_ = 0;
  HeaderScan scan(*log_, *file_bytes);
  BatchHeader h;
  if (!offset_index_.empty()) {
    const OffsetIndex::Entry last = offset_index_.entries().back();
    auto outcome = scan.at(last.position, h);
    if (!outcome.ok()) return outcome.status();
    if (*outcome != ScanOutcome::kBatch || h.last() != last.offset) {
      return absl::FailedPreconditionError("last offset index entry names no batch");
    }
    if (h.max_timestamp > max_timestamp_ms_) {
      max_timestamp_ms_ = h.max_timestamp;
      offset_of_max_timestamp_ = h.last();
    }
    bytes_since_last_index_entry_ = h.size_bytes();
    next_offset_ = Offset(h.last().value() + 1);
    position = size_bytes_ = last.position + h.size_bytes();
  }
  while (true) {
    auto outcome = scan.at(position, h);
    if (!outcome.ok()) return outcome.status();
    if (*outcome == ScanOutcome::kEnd) break;
    if (*outcome == ScanOutcome::kInvalid || h.base() != next_offset_) {
      return absl::FailedPreconditionError(absl::StrCat("batch header at ", position));
    }
    note_batch(position, h);
    position += h.size_bytes();
  }
  if (!time_index_.empty() && time_index_.last().offset >= next_offset_) {
    return absl::FailedPreconditionError("time index names offsets beyond the segment");
  }
  return absl::OkStatus();
}

void VerifiedRanges::add(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  // The first range that could touch [begin, end): the last one starting at or before begin.
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin() && std::prev(it)->second >= begin) --it;
  const bool merges = it != ranges_.end() && it->first <= end;
  if (!merges && ranges_.size() >= kRangesMax) return;
  while (it != ranges_.end() && it->first <= end) {
    begin = std::min(begin, it->first);
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(begin, end);
}

bool VerifiedRanges::contains(uint64_t begin, uint64_t end) const {
  if (begin >= end) return true;
  auto it = ranges_.upper_bound(begin);
  if (it == ranges_.begin()) return false;
  --it;
  return it->first <= begin && end <= it->second;
}

void VerifiedRanges::truncate(uint64_t position) {
  auto it = ranges_.lower_bound(position);
  ranges_.erase(it, ranges_.end());
  if (!ranges_.empty() && ranges_.rbegin()->second > position) ranges_.rbegin()->second = position;
}

absl::Status Segment::load_trusted() {
  if (auto s = load_indexes(); !s.ok()) return s;
  return scan_tail();
}

absl::StatusOr<bool> Segment::validate_at(uint64_t position, uint64_t file_bytes, bool check_crc,
                                          BatchHeader& header) {
  auto attempt = [&]() -> absl::StatusOr<std::optional<uint64_t>> {
    buffer_.assign(std::min<uint64_t>(kBatchHeaderBytes, file_bytes - position), '\0');
    auto n = read_fully(*log_, position, buffer_);
    if (!n.ok()) return n.status();
    buffer_.resize(*n);
    if (!header_fits(buffer_, position, file_bytes, header)) return fingerprint_of(buffer_);
    buffer_.assign(header.size_bytes(), '\0');
    auto m = read_fully(*log_, position, buffer_);
    if (!m.ok()) return m.status();
    buffer_.resize(*m);
    if (*m != header.size_bytes()) return fingerprint_of(buffer_);
    if (check_crc && !BatchView::parse(buffer_).ok()) return fingerprint_of(buffer_);
    // The header the caller acts on comes from the bytes it gets (validate_confirmed compares
    // those across reads), never from the first, header-only read.
    auto full = parse_batch_header(buffer_);
    if (!full.ok() || full->size_bytes() != buffer_.size()) return fingerprint_of(buffer_);
    header = *full;
    return std::optional<uint64_t>();
  };
  auto stable = read_until_stable(absl::StrCat(log_path_, " at ", position), attempt);
  CODE_PROBE(stable.ok() && *stable, "broker_log.validated_batch");
  return stable;
}

// The bytes before a batch's CRC field (baseOffset, batchLength, partitionLeaderEpoch, magic)
// are not covered by the CRC, so a read corrupted there still validates. Recovery acts on them
// (it cuts the log where offsets stop being contiguous, and writes the batch back), so they
// count only once two reads agree on them: a flipped bit in a read must never cut or rewrite
// flushed data. (Found by ProduceVerify with DiskFaults: a corrupt read of a base offset cut
// acknowledged batches.)
absl::StatusOr<bool> Segment::validate_confirmed(uint64_t position, uint64_t file_bytes,
                                                 bool check_crc, BatchHeader& header) {
  constexpr size_t kUncoveredBytes = 17;
  std::string previous;
  for (int attempt = 0; attempt < kReadAttemptsMax; ++attempt) {
    auto valid = validate_at(position, file_bytes, check_crc, header);
    if (!valid.ok() || !*valid) return valid;
    std::string prefix = buffer_.substr(0, kUncoveredBytes);
    if (attempt > 0 && prefix == previous) return true;
    if (attempt > 0) CODE_PROBE(true, "broker_log.recovery_uncovered_bytes_disagreed");
    previous = std::move(prefix);
  }
  return absl::UnavailableError(
      absl::StrCat(log_path_, " at ", position, ": reads of the batch header never agreed"));
}

absl::StatusOr<SegmentRecovery> Segment::recover(
    bool check_crc, bool rewrite, const std::function<void(const BatchHeader&)>& on_batch) {
  SegmentRecovery result;
  auto file_bytes = log_->size();
  if (!file_bytes.ok()) return file_bytes.status();
  result.file_bytes = *file_bytes;
  offset_index_ = OffsetIndex(base_);
  time_index_ = TimeIndex(base_);
  max_timestamp_ms_ = -1;
  offset_of_max_timestamp_ = base_;
  bytes_since_last_index_entry_ = 0;
  next_offset_ = base_;
  size_bytes_ = 0;
  verified_ = VerifiedRanges();
  uint64_t position = 0;
  while (position < *file_bytes) {
    BatchHeader h;
    auto valid = validate_confirmed(position, *file_bytes, check_crc, h);
    if (!valid.ok()) return valid.status();
    if (!*valid) {
      result.damage = "invalid batch (torn, corrupt or garbage)";
      break;
    }
    if (h.base() != next_offset_) {
      result.damage = "batch offsets not contiguous";
      break;
    }
    if (rewrite) {
      auto span =
          absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(buffer_.data()), buffer_.size());
      if (auto s = log_->write(position, span); !s.ok()) return s;
    }
    note_batch(position, h);
    if (on_batch) on_batch(h);
    ++result.valid_batches;
    position += h.size_bytes();
  }
  result.valid_bytes = position;
  // Every batch kept was read in full with its CRC checked, and the bytes the CRC leaves out
  // confirmed by a second read (validate_confirmed). Without the CRC check (a test's broken
  // variant) nothing is vouched for.
  if (check_crc) verified_.add(0, position);
  if (position < *file_bytes) {
    if (auto s = log_->truncate(position); !s.ok()) return s;
  }
  offset_index_state_.invalidate();
  time_index_state_.invalidate();
  if (auto s = flush(); !s.ok()) return s;
  return result;
}

absl::Status Segment::append(std::string_view bytes, absl::Span<const BatchView> batches) {
  WEIR_ASSERT(!batches.empty() && batches.front().bytes().data() == bytes.data());
  WEIR_ASSERT(batches.front().header().base() == next_offset_);
  auto span = absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  dirty_ = true;
  if (auto s = log_->write(size_bytes_, span); !s.ok()) return s;
  // The caller checked each batch's CRC before stamping the fields outside it; the page cache
  // now holds exactly these bytes.
  verified_.add(size_bytes_, size_bytes_ + bytes.size());
  uint64_t position = size_bytes_;
  for (const BatchView& batch : batches) {
    note_batch(position, batch.header());
    position += batch.size_bytes();
  }
  WEIR_ASSERT(position == size_bytes_);
  return absl::OkStatus();
}

// The first batch from `position` (a batch boundary) on, before `limit`, that `stop` accepts.
absl::StatusOr<std::optional<BatchLocation>> Segment::walk_headers(
    uint64_t position, uint64_t limit, const std::function<bool(const BatchHeader&)>& stop) {
  HeaderScan scan(*log_, size_bytes_);
  while (position < limit) {
    BatchHeader h;
    auto outcome = scan.at(position, h);
    if (!outcome.ok()) return outcome.status();
    if (*outcome != ScanOutcome::kBatch) {
      return absl::DataLossError(absl::StrCat(log_path_, ": invalid batch header at ", position));
    }
    if (stop(h)) return BatchLocation{position, h};
    position += h.size_bytes();
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<BatchLocation>> Segment::find_batch(Offset target,
                                                                 uint64_t position_limit) {
  return walk_headers(offset_index_.lookup(target).position, std::min(position_limit, size_bytes_),
                      [target](const BatchHeader& h) { return h.last() >= target; });
}

absl::Status Segment::scan_headers(Offset from, const std::function<void(const BatchHeader&)>& f) {
  auto walked =
      walk_headers(offset_index_.lookup(from).position, size_bytes_, [&](const BatchHeader& h) {
        if (h.last() >= from) f(h);
        return false;
      });
  return walked.status();
}

absl::StatusOr<std::optional<BatchLocation>> Segment::find_batch_by_time(int64_t target_ms) {
  if (max_timestamp_ms_ < target_ms) return std::nullopt;
  const TimeIndex::Entry entry = time_index_.lookup(target_ms);
  return walk_headers(offset_index_.lookup(entry.offset).position, size_bytes_,
                      [target_ms](const BatchHeader& h) { return h.max_timestamp >= target_ms; });
}

absl::StatusOr<std::string> Segment::read(uint64_t position, size_t size) {
  if (position >= size_bytes_) return std::string();
  std::string out(std::min<uint64_t>(size, size_bytes_ - position), '\0');
  auto n = read_agreed(*log_, position, out);
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

absl::StatusOr<std::string> Segment::read_once(uint64_t position, size_t size) {
  if (position >= size_bytes_) return std::string();
  std::string out;
  out.resize(std::min<uint64_t>(size, size_bytes_ - position));
  auto n = read_fully(*log_, position, out);
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

absl::Status Segment::cut(uint64_t position) {
  dirty_ = true;
  verified_.truncate(position);  // first: bytes later written there must earn it again
  if (auto s = log_->truncate(position); !s.ok()) return s;
  offset_index_.truncate_to(next_offset_);
  time_index_.truncate_to(next_offset_);
  offset_index_state_.truncated(offset_index_.size());
  time_index_state_.truncated(time_index_.size());
  if (auto s = scan_tail(); !s.ok()) {
    return absl::DataLossError(absl::StrCat(log_path_, " after truncation: ", s.message()));
  }
  return flush();
}

absl::StatusOr<uint64_t> Segment::truncate_to(Offset offset) {
  auto location = find_batch(offset, size_bytes_);
  if (!location.ok()) return location.status();
  if (!location->has_value()) return uint64_t{0};
  const uint64_t before = size_bytes_;
  next_offset_ = (*location)->header.base();
  if (auto s = cut((*location)->position); !s.ok()) return s;
  WEIR_ASSERT(size_bytes_ == (*location)->position);
  return before - size_bytes_;
}

absl::Status Segment::write_indexes() {
  if (auto s = offset_index_state_.write_pending(
          *index_file_, OffsetIndex::kEntryBytes, offset_index_.size(),
          [&](size_t first) { return offset_index_.encode(first); });
      !s.ok()) {
    return s;
  }
  return time_index_state_.write_pending(*time_index_file_, TimeIndex::kEntryBytes,
                                         time_index_.size(),
                                         [&](size_t first) { return time_index_.encode(first); });
}

absl::Status Segment::flush() {
  if (auto s = write_indexes(); !s.ok()) return s;
  for (IFile* f : {log_.get(), index_file_.get(), time_index_file_.get()}) {
    if (auto s = f->sync(); !s.ok()) return s;
  }
  dirty_ = false;
  return absl::OkStatus();
}

absl::Status Segment::seal() {
  if (max_timestamp_ms_ >= 0) time_index_.maybe_append(max_timestamp_ms_, offset_of_max_timestamp_);
  return flush();
}

absl::Status Segment::remove_files(IFileSystem& fs) {
  for (const char* kind : {kIndexSuffix, kTimeIndexSuffix, kLogSuffix}) {
    auto s = fs.remove(path_of(kind));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

absl::Status Segment::rename_files(IFileSystem& fs, std::string_view suffix) {
  // Into a marked name the log goes last (its `.log.swap` commits a swap, so its indexes must
  // be there by then); back to the plain name it goes first (until it is there, the marked
  // log still names the swap, and recovery finishes it).
  const bool log_first = suffix.empty();
  std::vector<const char*> kinds = {kIndexSuffix, kTimeIndexSuffix};
  kinds.insert(log_first ? kinds.begin() : kinds.end(), kLogSuffix);
  for (const char* kind : kinds) {
    if (auto s = fs.rename(path_of(kind), file_path(dir_, base_, kind) + std::string(suffix));
        !s.ok())
      return s;
  }
  suffix_ = std::string(suffix);
  log_path_ = path_of(kLogSuffix);
  return absl::OkStatus();
}

}  // namespace weir::broker::log
