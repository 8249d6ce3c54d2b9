#include "coord/zab/storage/txn_log.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "coord/zab/storage/storage_io.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/scheduler.h"
#include "runtime/trace.h"

namespace weir::coord::zab {
namespace {

constexpr char kSegmentPrefix[] = "log.";
constexpr size_t kHeaderBytes = TxnLog::kHeaderBytes;

enum class ReadOutcome { kRecord, kEnd, kInvalid };

// One record as it lies in the reader's window; valid until the next read.
struct RecordView {
  Zxid zxid;
  absl::Span<const uint8_t> framed;  // header and payload
  absl::Span<const uint8_t> payload;
};

// Reads the records of one segment file through a reusable window, so that a scan costs one
// read call per window rather than two per record. A record that fails validation is read
// again (read_until_stable) before it counts as invalid: the disk may have flipped a bit on
// the way, and declaring a good record invalid would cut synced records off the log.
class RecordReader {
 public:
  RecordReader(IFile& file, uint64_t file_bytes, const TxnLogOptions& options,
               std::vector<uint8_t>& window)
      : file_(file), file_bytes_(file_bytes), options_(options), window_(window) {}

  // The record starting at `offset`, kEnd at the end of the file, kInvalid when the bytes at
  // `offset` are not a valid record (torn, corrupt, or a partial header).
  absl::StatusOr<ReadOutcome> next(uint64_t offset, RecordView& view) {
    if (offset >= file_bytes_) return ReadOutcome::kEnd;
    auto header = fetch(offset, kHeaderBytes);
    if (!header.ok()) return header.status();
    if (header->size() == kHeaderBytes) {
      const uint32_t length = load_u32(header->data() + 4);
      if (plausible(offset, length)) {
        auto framed = fetch(offset, kHeaderBytes + length);
        if (!framed.ok()) return framed.status();
        if (decode(*framed, view)) return ReadOutcome::kRecord;
      }
    }
    return reread(offset, view);
  }

 private:
  bool plausible(uint64_t offset, uint32_t length) const {
    return length <= options_.payload_bytes_max && kHeaderBytes + length <= file_bytes_ - offset;
  }

  static bool decode(absl::Span<const uint8_t> bytes, RecordView& view) {
    if (bytes.size() < kHeaderBytes) return false;
    const uint32_t length = load_u32(bytes.data() + 4);
    if (bytes.size() != kHeaderBytes + length) return false;
    if (crc32c(bytes.data() + 4, bytes.size() - 4) != load_u32(bytes.data())) return false;
    view.zxid = Zxid(static_cast<int64_t>(load_u64(bytes.data() + 8)));
    view.framed = bytes;
    view.payload = bytes.subspan(kHeaderBytes);
    return true;
  }

  // n bytes at offset (fewer at end of file), from the window or by refilling it.
  absl::StatusOr<absl::Span<const uint8_t>> fetch(uint64_t offset, size_t n) {
    if (offset >= window_offset_ && offset + n <= window_offset_ + window_bytes_) {
      return absl::MakeConstSpan(window_.data() + (offset - window_offset_), n);
    }
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(std::max(n, options_.read_buffer_bytes), file_bytes_ - offset));
    if (window_.size() < want) window_.resize(want);  // at most header + payload_bytes_max
    window_bytes_ = 0;
    auto got = read_fully(file_, offset, absl::MakeSpan(window_.data(), want));
    if (!got.ok()) return got.status();
    window_offset_ = offset;
    window_bytes_ = *got;
    return absl::MakeConstSpan(window_.data(), std::min(n, *got));
  }

  absl::StatusOr<ReadOutcome> reread(uint64_t offset, RecordView& view) {
    window_bytes_ = 0;  // the window may hold a corrupted copy
    if (window_.size() < kHeaderBytes) window_.resize(kHeaderBytes);
    auto attempt = [&]() -> absl::StatusOr<ReadAttempt> {
      const size_t header_want =
          static_cast<size_t>(std::min<uint64_t>(kHeaderBytes, file_bytes_ - offset));
      auto n = read_fully(file_, offset, absl::MakeSpan(window_.data(), header_want));
      if (!n.ok()) return n.status();
      const auto header = absl::MakeConstSpan(window_.data(), *n);
      if (*n < kHeaderBytes || !plausible(offset, load_u32(window_.data() + 4))) {
        return ReadAttempt{false, fingerprint_of(header)};
      }
      const size_t want = kHeaderBytes + load_u32(window_.data() + 4);
      if (window_.size() < want) window_.resize(want);
      auto m = read_fully(file_, offset, absl::MakeSpan(window_.data(), want));
      if (!m.ok()) return m.status();
      const auto framed = absl::MakeConstSpan(window_.data(), *m);
      if (decode(framed, view)) return ReadAttempt{true, 0};
      return ReadAttempt{false, fingerprint_of(framed)};
    };
    auto stable = read_until_stable(options_.read_attempts_max,
                                    absl::StrCat(file_.path(), " at offset ", offset), attempt);
    if (!stable.ok()) return stable.status();
    CODE_PROBE(*stable, "txn_log.reread_cured_corrupt_read");
    if (!*stable) return ReadOutcome::kInvalid;
    window_offset_ = offset;
    window_bytes_ = view.framed.size();
    return ReadOutcome::kRecord;
  }

  IFile& file_;
  const uint64_t file_bytes_;
  const TxnLogOptions& options_;
  std::vector<uint8_t>& window_;
  uint64_t window_offset_ = 0;
  size_t window_bytes_ = 0;
};

absl::Status validate(const TxnLogOptions& o) {
  if (o.segment_bytes_max < kHeaderBytes || o.write_buffer_bytes == 0 ||
      o.read_buffer_bytes < kHeaderBytes || o.index_interval_bytes == 0 ||
      o.read_attempts_max < kReadAgreementsRequired || o.read_attempts_max > kReadAttemptsLimit ||
      o.payload_bytes_max > UINT32_MAX - kHeaderBytes) {
    return absl::InvalidArgumentError("TxnLogOptions out of range");
  }
  return absl::OkStatus();
}

}  // namespace

struct TxnLog::ScanResult {
  Segment segment;  // the valid records at the start of the file
  uint64_t file_bytes = 0;
  const char* damage = nullptr;  // why the rest of the file is invalid; null when clean
};

// Fails the log when a mutating call unwinds by cancellation in the middle of its I/O: the
// write, truncate or fsync may or may not have happened, and a cancelled fsync on the real
// runtime may still fail later, unseen, dropping pages.
class TxnLog::Mutation {
 public:
  explicit Mutation(TxnLog& log) : log_(log), exceptions_(std::uncaught_exceptions()) {}
  ~Mutation() {
    if (std::uncaught_exceptions() > exceptions_ && log_.failed_.ok()) {
      log_.failed_ = absl::AbortedError("TxnLog: cancelled during I/O, outcome unknown");
    }
  }
  Mutation(const Mutation&) = delete;
  Mutation& operator=(const Mutation&) = delete;

 private:
  TxnLog& log_;
  const int exceptions_;
};

TxnLog::TxnLog(IFileSystem& fs, std::string dir, TxnLogOptions options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {
  append_buffer_.reserve(options_.write_buffer_bytes);
  read_buffer_.resize(options_.read_buffer_bytes);
}

TxnLog::~TxnLog() = default;

absl::StatusOr<std::unique_ptr<TxnLog>> TxnLog::open(IFileSystem& fs, std::string dir,
                                                     TxnLogOptions options) {
  if (auto s = validate(options); !s.ok()) return s;
  std::unique_ptr<TxnLog> log(new TxnLog(fs, std::move(dir), options));
  if (auto s = log->recover(); !s.ok()) return s;
  return log;
}

std::string TxnLog::segment_path(Zxid first) const {
  return absl::StrCat(dir_, "/", hex_name(kSegmentPrefix, first.value()));
}

Zxid TxnLog::first_zxid() const {
  return segments_.empty() ? Zxid(0) : segments_.front().first;
}

// ---------------------------------------------------------------------------------------------
// Recovery

absl::StatusOr<std::vector<Zxid>> TxnLog::list_segments() {
  auto names = fs_.list(dir_);
  if (!names.ok()) return names.status();
  std::vector<Zxid> firsts;
  for (const std::string& name : *names) {
    // Anything else (an operator's backup, another store's file) is not ours to judge.
    if (auto first = parse_hex_name(kSegmentPrefix, name); first.has_value()) {
      firsts.push_back(Zxid(*first));
    }
  }
  std::sort(firsts.begin(), firsts.end());
  return firsts;
}

absl::StatusOr<TxnLog::ScanResult> TxnLog::scan_segment(Zxid first, Zxid previous_last) {
  auto file = fs_.open(segment_path(first), OpenMode::kRead);
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  ScanResult result;
  result.file_bytes = *size;
  result.segment.first = first;
  RecordReader reader(**file, *size, options_, read_buffer_);
  uint64_t offset = 0;
  while (true) {
    RecordView view;
    auto outcome = reader.next(offset, view);
    if (!outcome.ok()) return outcome.status();
    if (*outcome == ReadOutcome::kEnd) break;
    if (*outcome == ReadOutcome::kInvalid) {
      result.damage = "invalid record";
      break;
    }
    if (offset == 0 && view.zxid != first) {
      result.damage = "first zxid differs from the segment's name";
      break;
    }
    if (view.zxid <= std::max(previous_last, result.segment.last)) {
      result.damage = "zxid not increasing";
      break;
    }
    note_record(result.segment, view.zxid, offset);
    offset += view.framed.size();
    result.segment.bytes = offset;
  }
  // A segment only ever exists with a record in it, so an empty one is damage too.
  if (result.damage == nullptr && offset == 0) result.damage = "empty segment";
  return result;
}

// Removes segments after `index`, then cuts segment `index` at `offset` (removing it when 0).
// The removals are durable before the cut: otherwise a crash could leave the cut segment
// followed by a later one, a gap recovery could not see.
absl::Status TxnLog::cut(const std::vector<Zxid>& names, size_t index, uint64_t offset) {
  bool removed = false;
  for (size_t j = names.size(); j-- > index;) {
    if (j == index && offset > 0) break;
    if (auto s = fs_.remove(segment_path(names[j])); !s.ok()) return s;
    removed = true;
  }
  CODE_PROBE(names.size() > index + 1, "txn_log.recovery_removed_later_segments");
  if (removed) {
    if (auto s = fs_.sync_directory(dir_); !s.ok()) return s;
  }
  if (offset == 0) return absl::OkStatus();
  auto file = fs_.open(segment_path(names[index]), OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  if (auto s = (*file)->truncate(offset); !s.ok()) return s;
  return (*file)->sync();
}

absl::Status TxnLog::recover() {
  if (auto s = fs_.create_directories(dir_); !s.ok()) return s;
  auto names = list_segments();
  if (!names.ok()) return names.status();
  uint64_t cut_bytes = 0;
  for (size_t i = 0; i < names->size(); ++i) {
    const Zxid previous = segments_.empty() ? Zxid(0) : segments_.back().last;
    auto scan = scan_segment((*names)[i], previous);
    if (!scan.ok()) return scan.status();
    if (scan->damage != nullptr) {
      cut_bytes = scan->file_bytes - scan->segment.bytes;
      TraceEvent(Severity::kWarn, "TxnLogTruncated")
          .detail("Dir", dir_)
          .detail("Segment", (*names)[i])
          .detail("Offset", scan->segment.bytes)
          .detail("FileBytes", scan->file_bytes)
          .detail("LaterSegmentsRemoved", names->size() - i - 1)
          .detail("Reason", scan->damage);
      CODE_PROBE(true, "txn_log.recovery_cut_damaged_tail");
      if (auto s = cut(*names, i, scan->segment.bytes); !s.ok()) return s;
      if (scan->segment.bytes > 0) segments_.push_back(std::move(scan->segment));
      break;
    }
    segments_.push_back(std::move(scan->segment));
  }
  last_zxid_ = segments_.empty() ? Zxid(0) : segments_.back().last;
  if (!segments_.empty()) {
    if (auto s = open_active(); !s.ok()) return s;
    if (options_.rewrite_last_segment_on_open) {
      if (auto s = rewrite_last_segment(); !s.ok()) return s;
    }
  }
  // Commits names an earlier life created or removed but never synced (its directory sync
  // may have failed), before anything is acknowledged on top of them.
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return s;
  TraceEvent(Severity::kInfo, "TxnLogRecovered")
      .detail("Dir", dir_)
      .detail("Segments", segments_.size())
      .detail("FirstZxid", first_zxid())
      .detail("LastZxid", last_zxid_)
      .detail("CutBytes", cut_bytes);
  return absl::OkStatus();
}

absl::Status TxnLog::open_active() {
  WEIR_ASSERT(!segments_.empty() && active_ == nullptr);
  auto file = fs_.open(segment_path(segments_.back().first), OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  active_ = std::move(*file);
  flushed_bytes_ = segments_.back().bytes;
  synced_bytes_ = 0;  // unknown: the first sync() must fsync
  return absl::OkStatus();
}

// Writes the last segment's validated records back in place and fsyncs them. Pages an earlier
// failed fsync dropped look clean to the page cache, so only rewriting them makes a later
// fsync write them; afterwards every byte recovery accepted is durable.
absl::Status TxnLog::rewrite_last_segment() {
  const uint64_t bytes = segments_.back().bytes;
  RecordReader reader(*active_, bytes, options_, read_buffer_);
  append_buffer_.clear();
  uint64_t offset = 0;
  uint64_t written = 0;
  while (offset < bytes) {
    RecordView view;
    auto outcome = reader.next(offset, view);
    if (!outcome.ok()) return outcome.status();
    if (*outcome != ReadOutcome::kRecord) {
      return absl::DataLossError(absl::StrCat(active_->path(), ": record at ", offset,
                                              " changed after recovery validated it"));
    }
    if (!append_buffer_.empty() &&
        append_buffer_.size() + view.framed.size() > options_.write_buffer_bytes) {
      if (auto s = active_->write(written, append_buffer_); !s.ok()) return s;
      written += append_buffer_.size();
      append_buffer_.clear();
    }
    append_buffer_.insert(append_buffer_.end(), view.framed.begin(), view.framed.end());
    offset += view.framed.size();
  }
  if (auto s = active_->write(written, append_buffer_); !s.ok()) return s;
  append_buffer_.clear();
  if (auto s = active_->sync(); !s.ok()) return s;
  synced_bytes_ = bytes;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Appending

absl::Status TxnLog::check_usable() const {
  return failed_;
}

void TxnLog::wait_sync_idle() {
  Scheduler& s = Scheduler::current();
  while (syncing_) {
    ActorWaiter waiter(s.current_actor());
    sync_idle_.push_back(&waiter);
    s.suspend();
  }
}

absl::Status TxnLog::fail(absl::Status status, const char* op) {
  WEIR_ASSERT(!status.ok());
  if (failed_.ok()) {
    failed_ = status;
    TraceEvent(Severity::kWarn, "TxnLogFailed")
        .detail("Dir", dir_)
        .detail("Op", op)
        .detail("Error", status.ToString());
  }
  return failed_;
}

void TxnLog::note_record(Segment& segment, Zxid zxid, uint64_t offset) {
  if (segment.index.empty() ||
      offset >= segment.index.back().offset + options_.index_interval_bytes) {
    segment.index.push_back(IndexEntry{zxid, offset});
  }
  segment.last = zxid;
}

absl::Status TxnLog::flush() {
  if (append_buffer_.empty()) return absl::OkStatus();
  WEIR_ASSERT(active_ != nullptr);
  if (auto s = active_->write(flushed_bytes_, append_buffer_); !s.ok()) return fail(s, "write");
  flushed_bytes_ += append_buffer_.size();
  append_buffer_.clear();
  return absl::OkStatus();
}

// Closes the last segment durably before any record goes to the next one. That ordering is
// what lets recovery trust a segment boundary: if a later segment holds a record, every
// earlier segment is complete, so a crash cannot leave a gap between them.
absl::Status TxnLog::roll() {
  if (auto s = flush(); !s.ok()) return s;
  if (auto s = active_->sync(); !s.ok()) return fail(s, "sync");
  synced_bytes_ = flushed_bytes_;
  active_.reset();
  CODE_PROBE(true, "txn_log.segment_rolled");
  return absl::OkStatus();
}

absl::Status TxnLog::create_segment(Zxid first) {
  WEIR_ASSERT(active_ == nullptr);
  auto file = fs_.open(segment_path(first), OpenMode::kCreateExclusive);
  if (!file.ok()) return fail(file.status(), "create segment");
  // The name must be durable before a record in it is acknowledged.
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  active_ = std::move(*file);
  segments_.push_back(Segment{first, Zxid(0), 0, {}});
  flushed_bytes_ = 0;
  synced_bytes_ = 0;
  TraceEvent(Severity::kInfo, "TxnLogSegmentCreated").detail("Dir", dir_).detail("First", first);
  return absl::OkStatus();
}

absl::Status TxnLog::append(Zxid zxid, absl::Span<const uint8_t> payload) {
  ActorMutex::Guard guard(lock_);
  // BUGGIFY: a slow append, so callers that submit writes see the submission suspend (a real
  // disk's write can block; the simulated page cache never does). Inside the lock: appends
  // keep the order their callers took it in, as on a real disk.
  if (BUGGIFY_WITH_PROB(0.05)) delay(std::chrono::milliseconds(2));
  if (auto s = check_usable(); !s.ok()) return s;
  WEIR_ASSERT_MSG(zxid.value() > 0 && zxid > last_zxid_, "TxnLog::append: zxids must increase");
  if (payload.size() > options_.payload_bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("TxnLog::append: payload of ", payload.size(), " bytes over the maximum"));
  }
  const size_t record_bytes = kHeaderBytes + payload.size();
  const bool rolls =
      !segments_.empty() && segments_.back().bytes + record_bytes > options_.segment_bytes_max;
  if (rolls) {
    wait_sync_idle();  // before the Mutation: waiting is not I/O
    if (auto s = check_usable(); !s.ok()) return s;
  }
  Mutation mutation(*this);
  if (rolls) {
    if (auto s = roll(); !s.ok()) return s;
  }
  if (active_ == nullptr) {
    if (auto s = create_segment(zxid); !s.ok()) return s;
  }
  if (!append_buffer_.empty() &&
      append_buffer_.size() + record_bytes > options_.write_buffer_bytes) {
    if (auto s = flush(); !s.ok()) return s;
  }
  const size_t at = append_buffer_.size();
  append_buffer_.resize(at + record_bytes);
  uint8_t* p = append_buffer_.data() + at;
  store_u32(p + 4, static_cast<uint32_t>(payload.size()));
  store_u64(p + 8, static_cast<uint64_t>(zxid.value()));
  if (!payload.empty()) std::memcpy(p + kHeaderBytes, payload.data(), payload.size());
  store_u32(p, crc32c(p + 4, record_bytes - 4));
  Segment& segment = segments_.back();
  note_record(segment, zxid, segment.bytes);
  segment.bytes += record_bytes;
  last_zxid_ = zxid;
  if (append_buffer_.size() >= options_.write_buffer_bytes) return flush();
  return absl::OkStatus();
}

absl::Status TxnLog::sync() {
  IFile* file = nullptr;
  uint64_t target = 0;
  {
    ActorMutex::Guard guard(lock_);
    wait_sync_idle();  // one fsync at a time
    if (auto s = check_usable(); !s.ok()) return s;
    // Everything before the active segment was synced when it rolled.
    if (active_ == nullptr) return absl::OkStatus();
    // A caller queued behind another's sync often finds its records already durable.
    if (append_buffer_.empty() && synced_bytes_ == flushed_bytes_) return absl::OkStatus();
    Mutation mutation(*this);
    if (auto s = flush(); !s.ok()) return s;
    file = active_.get();
    target = flushed_bytes_;
    syncing_ = true;
  }
  // The fsync runs without the lock: an append waiting for it would wait a whole disk flush,
  // and with several proposers the lock's FIFO would put an fsync between every two appends.
  struct Idle {
    TxnLog& log;
    ~Idle() {
      log.syncing_ = false;
      log.sync_idle_.fire_all();
    }
  } idle{*this};
  Mutation mutation(*this);
  if (auto s = file->sync(); !s.ok()) return fail(s, "sync");
  synced_bytes_ = std::max(synced_bytes_, target);  // roll and truncate wait: same segment
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Truncation, purging, reads

uint64_t TxnLog::index_start(const Segment& segment, Zxid zxid) const {
  // The last index entry at or before `zxid`: every record before it is older still.
  auto it = std::upper_bound(segment.index.begin(), segment.index.end(), zxid,
                             [](Zxid z, const IndexEntry& e) { return z < e.zxid; });
  return it == segment.index.begin() ? 0 : std::prev(it)->offset;
}

absl::Status TxnLog::remove_segment_file(Zxid first) {
  if (auto s = fs_.remove(segment_path(first)); !s.ok()) return fail(s, "remove segment");
  return absl::OkStatus();
}

// Cuts the last segment after `keep_through` (which is at or after its first record).
absl::Status TxnLog::truncate_last_segment(Zxid keep_through) {
  Segment& segment = segments_.back();
  if (active_ == nullptr) {
    if (auto s = open_active(); !s.ok()) return fail(s, "open segment");
  }
  if (segment.last <= keep_through) return absl::OkStatus();
  RecordReader reader(*active_, segment.bytes, options_, read_buffer_);
  uint64_t offset = index_start(segment, keep_through);
  Zxid last_kept;
  while (true) {
    RecordView view;
    auto outcome = reader.next(offset, view);
    if (!outcome.ok()) return outcome.status();
    if (*outcome != ReadOutcome::kRecord) {
      return fail(absl::DataLossError(absl::StrCat(active_->path(), ": record at ", offset,
                                                   " damaged since recovery")),
                  "truncate");
    }
    if (view.zxid > keep_through) break;
    last_kept = view.zxid;
    offset += view.framed.size();
  }
  WEIR_ASSERT(last_kept.value() > 0);
  if (auto s = active_->truncate(offset); !s.ok()) return fail(s, "truncate");
  if (auto s = active_->sync(); !s.ok()) return fail(s, "sync");
  segment.bytes = offset;
  segment.last = last_kept;
  while (!segment.index.empty() && segment.index.back().offset >= offset) segment.index.pop_back();
  flushed_bytes_ = synced_bytes_ = offset;
  return absl::OkStatus();
}

absl::Status TxnLog::truncate_after(Zxid zxid) {
  ActorMutex::Guard guard(lock_);
  wait_sync_idle();  // it may close and cut the file being synced
  if (auto s = check_usable(); !s.ok()) return s;
  if (zxid >= last_zxid_) return absl::OkStatus();
  Mutation mutation(*this);
  if (auto s = flush(); !s.ok()) return s;
  // Whole segments first, durably, for the reason cut() gives.
  const size_t dropped_segments = static_cast<size_t>(
      segments_.end() - std::upper_bound(segments_.begin(), segments_.end(), zxid,
                                         [](Zxid z, const Segment& s) { return z < s.first; }));
  if (dropped_segments > 0) {
    active_.reset();
    while (segments_.size() > 0 && segments_.back().first > zxid) {
      if (auto s = remove_segment_file(segments_.back().first); !s.ok()) return s;
      segments_.pop_back();
    }
    if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  }
  if (!segments_.empty()) {
    if (auto s = truncate_last_segment(zxid); !s.ok()) return s;
  }
  TraceEvent(Severity::kInfo, "TxnLogTruncatedAfter")
      .detail("Dir", dir_)
      .detail("Zxid", zxid)
      .detail("PreviousLastZxid", last_zxid_)
      .detail("SegmentsRemoved", dropped_segments);
  last_zxid_ = segments_.empty() ? Zxid(0) : segments_.back().last;
  return absl::OkStatus();
}

absl::Status TxnLog::purge_before(Zxid zxid) {
  // Appends and syncs go on while files are removed (holding the log's lock across the
  // removals and directory syncs stalled every write for tens of ms): the segments leave
  // segments_ first, so nothing reads them, and one purge runs at a time.
  ActorMutex::Guard purging(purge_lock_);
  std::vector<Zxid> doomed;
  {
    ActorMutex::Guard guard(lock_);
    if (auto s = check_usable(); !s.ok()) return s;
    while (segments_.size() > 1 && segments_[1].first <= zxid) {
      doomed.push_back(segments_.front().first);
      segments_.erase(segments_.begin());
    }
  }
  Mutation mutation(*this);
  // Oldest first, each removal durable before the next: a crash can then only leave a suffix
  // of the segments, never a hole in the middle that recovery would take for a valid log.
  for (Zxid first : doomed) {
    if (auto s = remove_segment_file(first); !s.ok()) return s;
    if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  }
  if (!doomed.empty()) {
    TraceEvent(Severity::kInfo, "TxnLogPurged")
        .detail("Dir", dir_)
        .detail("Before", zxid)
        .detail("SegmentsRemoved", doomed.size())
        .detail("FirstZxid", first_zxid());
  }
  return absl::OkStatus();
}

// Appends the records of segment `index` newer than zxid_exclusive to `out`; true when
// max_bytes stopped it.
absl::StatusOr<bool> TxnLog::read_segment(size_t index, Zxid zxid_exclusive, uint64_t max_bytes,
                                          uint64_t& bytes, std::vector<TxnLogEntry>& out) {
  const Segment& segment = segments_[index];
  std::unique_ptr<IFile> opened;
  IFile* file = active_.get();
  if (index + 1 != segments_.size() || file == nullptr) {
    auto f = fs_.open(segment_path(segment.first), OpenMode::kRead);
    if (!f.ok()) return f.status();
    opened = std::move(*f);
    file = opened.get();
  }
  RecordReader reader(*file, segment.bytes, options_, read_buffer_);
  uint64_t offset = index_start(segment, zxid_exclusive);
  while (true) {
    RecordView view;
    auto outcome = reader.next(offset, view);
    if (!outcome.ok()) return outcome.status();
    if (*outcome == ReadOutcome::kEnd) return false;
    if (*outcome == ReadOutcome::kInvalid) {
      return absl::DataLossError(
          absl::StrCat(file->path(), ": record at ", offset, " damaged since recovery"));
    }
    offset += view.framed.size();
    if (view.zxid <= zxid_exclusive) continue;
    if (!out.empty() && bytes + view.payload.size() > max_bytes) return true;
    bytes += view.payload.size();
    out.push_back(TxnLogEntry{view.zxid, {view.payload.begin(), view.payload.end()}});
  }
}

absl::StatusOr<std::vector<TxnLogEntry>> TxnLog::read_from(Zxid zxid_exclusive,
                                                           uint64_t max_bytes) {
  ActorMutex::Guard guard(lock_);
  if (auto s = check_usable(); !s.ok()) return s;
  {
    Mutation mutation(*this);
    if (auto s = flush(); !s.ok()) return s;
  }
  // Start in the last segment that begins at or before zxid_exclusive: older ones hold only
  // older records.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), zxid_exclusive,
                             [](Zxid z, const Segment& s) { return z < s.first; });
  size_t index = it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin()) - 1;
  std::vector<TxnLogEntry> out;
  uint64_t bytes = 0;
  for (; index < segments_.size(); ++index) {
    auto full = read_segment(index, zxid_exclusive, max_bytes, bytes, out);
    if (!full.ok()) return full.status();
    if (*full) break;
  }
  return out;
}

}  // namespace weir::coord::zab
