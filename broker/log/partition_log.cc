#include "broker/log/partition_log.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/log/log_io.h"
#include "broker/log/records.h"
#include "broker/log/segment.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::broker::log {
namespace {

constexpr size_t kDecompressedBytesMax = 64 << 20;

std::string_view as_view(absl::Span<uint8_t> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

// Fails the log when a mutating call unwinds by cancellation in the middle of its I/O: the
// write or fsync may or may not have happened.
class PartitionLog::Mutation {
 public:
  explicit Mutation(PartitionLog& log)
      : log_(log), guard_(log.lock_), exceptions_(std::uncaught_exceptions()) {}
  ~Mutation() {
    if (std::uncaught_exceptions() > exceptions_ && log_.failed_.ok()) {
      log_.failed_ = absl::AbortedError("PartitionLog: cancelled during I/O, outcome unknown");
    }
  }
  Mutation(const Mutation&) = delete;
  Mutation& operator=(const Mutation&) = delete;

 private:
  PartitionLog& log_;
  ActorMutex::Guard guard_;
  const int exceptions_;
};

absl::Status PartitionLog::fail(absl::Status status, const char* op) {
  WEIR_ASSERT(!status.ok());
  if (failed_.ok()) {
    failed_ = status;
    TraceEvent(Severity::kWarn, "PartitionLogFailed")
        .detail("Dir", dir_)
        .detail("Op", op)
        .detail("Error", status.ToString());
  }
  return failed_;
}

Offset PartitionLog::log_end_offset() const {
  return segments_.empty() ? log_start_offset_ : segments_.back()->next_offset();
}

Offset PartitionLog::high_watermark() const {
  return std::max(log_start_offset_, std::min(high_watermark_, log_end_offset()));
}

int64_t PartitionLog::size_bytes() const {
  int64_t total = 0;
  for (const auto& s : segments_) total += static_cast<int64_t>(s->size_bytes());
  return total;
}

std::vector<Offset> PartitionLog::segment_base_offsets() const {
  std::vector<Offset> out;
  for (const auto& s : segments_) out.push_back(s->base_offset());
  return out;
}

std::optional<std::pair<LeaderEpoch, Offset>> PartitionLog::end_offset_for_epoch(
    LeaderEpoch epoch) const {
  return epochs_.end_offset_for(epoch, log_end_offset());
}

// ---------------------------------------------------------------------------------------------
// Appending

bool PartitionLog::should_roll(const Segment& active, const BatchHeader& next,
                               TimePoint now) const {
  if (active.empty()) return false;
  const bool full =
      active.size_bytes() + next.size_bytes() > static_cast<uint64_t>(config_.segment_bytes_max);
  const bool old = now - active.created() >= config_.segment_ms;
  // Index entries hold offsets relative to the base as u32 (Kafka keeps them below 2^31).
  const bool offsets_overflow = next.last().value() - active.base_offset().value() > INT32_MAX;
  return full || old || offsets_overflow;
}

// Seals the active segment (final time index entry, fsync of its three files), which makes
// everything before the new segment flushed; then creates the new one and fsyncs the
// directory so that its name is durable before any batch in it can be acknowledged.
absl::Status PartitionLog::roll(TimePoint now) {
  Segment& active = *segments_.back();
  if (auto s = active.seal(); !s.ok()) return fail(s, "seal segment");
  if (auto s = write_producer_snapshot(); !s.ok()) return fail(s, "producer snapshot");
  recovery_point_ = active.next_offset();
  unflushed_messages_ = 0;
  last_flush_ = now;
  auto segment =
      Segment::create(fs_, dir_, active.next_offset(), config_.index_interval_bytes, now);
  if (!segment.ok()) return fail(segment.status(), "create segment");
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  segments_.push_back(std::move(*segment));
  CODE_PROBE(true, "broker_log.segment_rolled");
  TraceEvent(Severity::kInfo, "PartitionLogSegmentRolled")
      .detail("Dir", dir_)
      .detail("Base", segments_.back()->base_offset());
  return absl::OkStatus();
}

// Writes contiguous batches, rolling where a segment is full: one write per run of batches
// that fit in the active segment.
absl::Status PartitionLog::write_batches(std::string_view bytes,
                                         absl::Span<const BatchView> batches, TimePoint now) {
  size_t i = 0;
  size_t at = 0;
  while (i < batches.size()) {
    if (should_roll(*segments_.back(), batches[i].header(), now)) {
      if (auto s = roll(now); !s.ok()) return s;
    }
    Segment& active = *segments_.back();
    size_t j = i + 1;
    uint64_t run = batches[i].size_bytes();
    while (j < batches.size() &&
           active.size_bytes() + run + batches[j].size_bytes() <=
               static_cast<uint64_t>(config_.segment_bytes_max) &&
           batches[j].header().last().value() - active.base_offset().value() <= INT32_MAX) {
      run += batches[j].size_bytes();
      ++j;
    }
    if (auto s = active.append(bytes.substr(at, run), batches.subspan(i, j - i)); !s.ok()) {
      return fail(s, "append");
    }
    note_producers(batches.subspan(i, j - i));
    at += run;
    i = j;
  }
  return absl::OkStatus();
}

// A retry of a batch the log holds: its original offsets, nothing appended (Kafka's answer).
AppendInfo PartitionLog::duplicate_append(const ProducerBatch& original) const {
  CODE_PROBE(true, "broker_log.producer_duplicate_answered");
  AppendInfo info;
  info.first_offset = Offset(original.first_offset);
  info.last_offset = Offset(original.last_offset);
  info.log_append_time_ms = config_.log_append_time ? original.timestamp_ms : -1;
  info.log_start_offset = log_start_offset_;
  info.duplicate = true;
  return info;
}

absl::StatusOr<AppendInfo> PartitionLog::append(absl::Span<uint8_t> records,
                                                LeaderEpoch leader_epoch) {
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  auto batches = split_batches(as_view(records), static_cast<size_t>(config_.max_message_bytes));
  if (!batches.ok()) return batches.status();
  for (const BatchView& batch : *batches) {
    if (auto s = validate_client_batch(batch); !s.ok()) return s;
    if (config_.compact) {
      if (auto s = check_keyed(batch, kDecompressedBytesMax); !s.ok()) return s;
    }
    if (batch.size_bytes() > static_cast<uint64_t>(config_.segment_bytes_max)) {
      return absl::OutOfRangeError(absl::StrCat(
          "RECORD_LIST_TOO_LARGE: batch of ", batch.size_bytes(), " bytes exceeds segment.bytes"));
    }
  }
  auto duplicate = check_producers(*batches);
  if (!duplicate.ok()) return duplicate.status();
  if (duplicate->has_value()) return duplicate_append(**duplicate);
  const TimePoint now = clock_.now();
  const int64_t now_ms = clock_.wall_ms();
  AppendInfo info;
  info.first_offset = log_end_offset();
  Offset next = info.first_offset;
  size_t at = 0;
  for (BatchView& batch : *batches) {
    auto span = records.subspan(at, batch.size_bytes());
    set_base_offset(span, next);
    set_partition_leader_epoch(span, leader_epoch);
    if (config_.log_append_time) set_log_append_time(span, now_ms);
    batch.reload_header();
    next = Offset(batch.header().last().value() + 1);
    info.record_count += batch.header().record_count;
    at += batch.size_bytes();
  }
  if (epochs_.assign(leader_epoch, info.first_offset)) {
    if (auto s = save_epochs_if_changed(); !s.ok()) return fail(s, "leader epoch checkpoint");
  }
  if (BUGGIFY_WITH_PROB(0.05)) delay(std::chrono::milliseconds(5));  // a slow write
  if (auto s = write_batches(as_view(records), *batches, now); !s.ok()) return s;
  WEIR_ASSERT(log_end_offset() == next);
  info.last_offset = Offset(next.value() - 1);
  info.log_append_time_ms = config_.log_append_time ? now_ms : -1;
  info.log_start_offset = log_start_offset_;
  unflushed_messages_ += info.record_count;
  if (unflushed_messages_ >= config_.flush_interval_messages ||
      to_ms(now - last_flush_) >= config_.flush_interval_ms) {
    if (auto s = flush_locked(); !s.ok()) return s;
  }
  return info;
}

absl::StatusOr<AppendInfo> PartitionLog::append_replicated(std::string_view records) {
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  auto batches = split_batches(records, static_cast<size_t>(config_.segment_bytes_max));
  if (!batches.ok()) return batches.status();
  // A compacted leader may answer with a batch that starts below this log's end: its cleaner
  // covered the offsets of batches it removed with the batch before them (compaction.h), so
  // this log's end, a batch boundary of the uncompacted log, lies inside it. Those offsets are
  // below the leader's high watermark, committed: this log holds them uncompacted, and takes
  // the leader's form of them instead (or, when its own cleaner merged differently, cuts to
  // its batch below and fetches again from there).
  if (const BatchHeader& first = batches->front().header();
      first.base() < log_end_offset() && first.last() >= log_end_offset()) {
    CODE_PROBE(true, "broker_log.follower_took_a_compacted_batch_over_its_end");
    if (auto s = truncate_locked(first.base()); !s.ok()) return s;
    if (log_end_offset() != first.base())
      return absl::FailedPreconditionError(absl::StrCat(
          "replicated batch at offset ", first.base_offset, " covers this log's end; cut to ",
          log_end_offset().value(), ", fetch again"));
  }
  AppendInfo info;
  info.first_offset = log_end_offset();
  Offset next = info.first_offset;
  std::optional<LeaderEpoch> epoch = epochs_.latest_epoch();
  for (const BatchView& batch : *batches) {
    const BatchHeader& h = batch.header();
    if (Offset(h.base_offset) != next)
      return absl::FailedPreconditionError(
          absl::StrCat("replicated batch at offset ", h.base_offset,
                       " does not continue the log at ", next.value()));
    // An empty batch is a compacted leader's (compaction.h), and as Kafka's followers do, this
    // one takes it: it carries offsets and a leader epoch.
    if (h.record_count < 0 || h.last_offset_delta < 0)
      return absl::InvalidArgumentError("replicated batch with a negative count or delta");
    const LeaderEpoch batch_epoch(h.partition_leader_epoch);
    if (epoch.has_value() && batch_epoch < *epoch)
      return absl::FailedPreconditionError(absl::StrCat("replicated batch of leader epoch ",
                                                        batch_epoch.value(), " after epoch ",
                                                        epoch->value()));
    epoch = batch_epoch;
    next = Offset(h.last().value() + 1);
    info.record_count += h.record_count;
  }
  bool epochs_changed = false;
  for (const BatchView& batch : *batches) {
    epochs_changed |= epochs_.assign(LeaderEpoch(batch.header().partition_leader_epoch),
                                     Offset(batch.header().base_offset));
  }
  if (epochs_changed) {
    if (auto s = save_epochs_if_changed(); !s.ok()) return fail(s, "leader epoch checkpoint");
  }
  const TimePoint now = clock_.now();
  if (auto s = write_batches(records, *batches, now); !s.ok()) return s;
  WEIR_ASSERT(log_end_offset() == next);
  info.last_offset = Offset(next.value() - 1);
  info.log_start_offset = log_start_offset_;
  unflushed_messages_ += info.record_count;
  if (unflushed_messages_ >= config_.flush_interval_messages ||
      to_ms(now - last_flush_) >= config_.flush_interval_ms) {
    if (auto s = flush_locked(); !s.ok()) return s;
  }
  return info;
}

absl::Status PartitionLog::assign_epoch(LeaderEpoch epoch) {
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  if (!epochs_.assign(epoch, log_end_offset())) return absl::OkStatus();
  if (auto s = save_epochs_if_changed(); !s.ok()) return fail(s, "leader epoch checkpoint");
  return absl::OkStatus();
}

absl::Status PartitionLog::flush_locked() {
  if (!failed_.ok()) return failed_;
  if (auto s = segments_.back()->flush(); !s.ok()) return fail(s, "flush");
  recovery_point_ = log_end_offset();
  unflushed_messages_ = 0;
  last_flush_ = clock_.now();
  return absl::OkStatus();
}

absl::Status PartitionLog::flush() {
  Mutation mutation(*this);
  return flush_locked();
}

absl::Status PartitionLog::maybe_flush() {
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  if (recovery_point_ == log_end_offset()) return absl::OkStatus();
  if (to_ms(clock_.now() - last_flush_) < config_.flush_interval_ms) return absl::OkStatus();
  return flush_locked();
}

// ---------------------------------------------------------------------------------------------
// Reading

std::shared_ptr<Segment> PartitionLog::segment_for(Offset offset) const {
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), offset,
      [](Offset o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it == segments_.begin()) return nullptr;
  return *std::prev(it);
}

absl::StatusOr<ReadResult> PartitionLog::read(Offset start, int32_t bytes_max,
                                              Offset end_offset_max, bool min_one_batch,
                                              ReadMode mode, bool skip_empty_batches) {
  if (!failed_.ok()) return failed_;
  const Offset end = log_end_offset();
  if (start < log_start_offset_ || start > end) {
    return absl::OutOfRangeError(absl::StrCat("OFFSET_OUT_OF_RANGE: ", start.value(),
                                              " is outside [", log_start_offset_.value(), ", ",
                                              end.value(), "]"));
  }
  ReadResult empty;
  empty.log_start_offset = log_start_offset_;
  empty.log_end_offset = end;
  if (start >= std::min(end, end_offset_max) || bytes_max < 0) return empty;
  const uint64_t generation = truncations_;
  if (truncating(generation)) return truncated_during_read();
  auto segment = segment_for(start);
  WEIR_ASSERT(segment != nullptr);
  while (true) {
    auto location = segment->find_batch(start, segment->size_bytes());
    // First: a scan that met a segment mid-cut may have failed on bytes that are not there.
    if (truncations_ != generation) return truncated_during_read();
    if (!location.ok()) return location.status();
    if (location->has_value() && skip_empty_batches && (*location)->header.record_count == 0 &&
        !(*location)->header.is_control()) {
      CODE_PROBE(true, "broker_log.read_passed_over_an_empty_batch");
      start = Offset((*location)->header.last().value() + 1);
      if (start >= std::min(end, end_offset_max)) return empty;
      continue;
    }
    if (location->has_value()) {
      const BatchLocation& at = **location;
      auto result = mode == ReadMode::kFileRange
                        ? read_file_range(segment, at.position, bytes_max, end_offset_max,
                                          min_one_batch, at.header)
                        : read_from(segment, at.position, bytes_max, end_offset_max, min_one_batch,
                                    at.header);
      if (truncations_ != generation) return truncated_during_read();
      return result;
    }
    // `start` is past this segment's batches: it is the next segment's first offset.
    auto next = segment_for(segment->next_offset());
    if (next == nullptr || next == segment) return empty;
    segment = next;
  }
}

namespace {

// Whether a batch's header in a read is the one find_batch read twice (the CRC field vouches
// for everything after it).
bool same_header(const BatchHeader& a, const BatchHeader& b) {
  return a.base_offset == b.base_offset && a.batch_length == b.batch_length &&
         a.partition_leader_epoch == b.partition_leader_epoch && a.magic == b.magic &&
         a.crc == b.crc;
}

// What one read of a range starting with the batch `first` holds.
struct RangeCheck {
  size_t bytes = 0;               // whole batches that passed every check
  bool corrupt = false;           // a batch failed one: the read may have flipped a bit
  bool epoch_unexpected = false;  // a batch's leader epoch is not the cache's for its offset
};

// The first header must be `first`; each later batch must start where the one before ended
// and pass its CRC. Of the bytes the CRC leaves out, the chain checks baseOffset and
// batchLength; partitionLeaderEpoch is checked against the cache.
RangeCheck check_range(std::string_view data, const BatchHeader& first, Offset end_offset_max,
                       const LeaderEpochCache& epochs) {
  RangeCheck c;
  Offset expected = first.base();
  while (c.bytes < data.size()) {
    const std::string_view rest = data.substr(c.bytes);
    auto h = parse_batch_header(rest);
    if (!h.ok() || h->size_bytes() > rest.size()) {
      // The read ended mid-batch, or a flipped bit says so: never true of a first batch that
      // the read had room for.
      c.corrupt = c.bytes == 0 && rest.size() >= first.size_bytes();
      break;
    }
    if (h->base() != expected || (c.bytes == 0 && !same_header(*h, first)) ||
        !BatchView::parse(rest.substr(0, h->size_bytes())).ok()) {
      c.corrupt = true;
      break;
    }
    if (h->last() >= end_offset_max) break;
    if (c.bytes > 0 && epochs.epoch_for(h->base()) != LeaderEpoch(h->partition_leader_epoch)) {
      c.epoch_unexpected = true;
    }
    expected = Offset(h->last().value() + 1);
    c.bytes += h->size_bytes();
  }
  return c;
}

}  // namespace

// Whole batches from `position`, trimmed to bytes_max and end_offset_max, checked by
// check_range: one read of the range suffices, and a bit flipped on the way is caught and the
// range read again. A leader epoch the cache does not expect is served only once a second read
// agrees.
absl::StatusOr<ReadResult> PartitionLog::read_from(std::shared_ptr<Segment> segment,
                                                   uint64_t position, int32_t bytes_max,
                                                   Offset end_offset_max, bool min_one_batch,
                                                   const BatchHeader& first) {
  ReadResult result;
  result.log_start_offset = log_start_offset_;
  result.log_end_offset = log_end_offset();
  result.segment_path = segment->log_path();
  result.file_position = position;
  size_t want = static_cast<size_t>(bytes_max);
  if (min_one_batch) want = std::max(want, first.size_bytes());
  for (int attempt = 0;; ++attempt) {
    auto data = segment->read_once(position, want);
    if (!data.ok()) return data.status();
    const RangeCheck c = check_range(*data, first, end_offset_max, epochs_);
    if (c.corrupt && c.bytes == 0) {
      CODE_PROBE(true, "broker_log.read_saw_corrupt_batch");
      if (attempt + 1 < kReadAttemptsMax) continue;
      return absl::DataLossError(
          absl::StrCat(segment->log_path(), ": corrupt batch at ", position));
    }
    if (c.epoch_unexpected) {
      CODE_PROBE(true, "broker_log.read_confirmed_unexpected_epoch");
      auto again = segment->read_once(position, c.bytes);
      if (!again.ok()) return again.status();
      if (std::string_view(*again) != std::string_view(*data).substr(0, c.bytes)) {
        if (attempt + 1 < kReadAttemptsMax) continue;
        return absl::UnavailableError(
            absl::StrCat(segment->log_path(), ": reads never agreed at ", position));
      }
    }
    data->resize(c.bytes);
    result.records = std::move(*data);
    result.size_bytes = c.bytes;
    return result;
  }
}

// The range from `position` to where the batches below end_offset_max end, cut to bytes_max
// (but the whole first batch when min_one_batch), without reading it: the end comes from the
// segment's extent or, below a high watermark inside the segment, from find_batch (index and
// headers). Served as a file range only if the segment has verified every byte of it; else
// read_from reads and checks it, and what it checked is verified from then on.
absl::StatusOr<ReadResult> PartitionLog::read_file_range(std::shared_ptr<Segment> segment,
                                                         uint64_t position, int32_t bytes_max,
                                                         Offset end_offset_max, bool min_one_batch,
                                                         const BatchHeader& first) {
  // Both at one instant: appends add whole batches after size_bytes, never inside it.
  const uint64_t size = segment->size_bytes();
  uint64_t limit = size;
  if (end_offset_max < segment->next_offset()) {
    auto at = segment->find_batch(end_offset_max, size);
    if (!at.ok()) return at.status();
    if (at->has_value()) limit = (*at)->position;
  }
  ReadResult result;
  result.log_start_offset = log_start_offset_;
  result.log_end_offset = log_end_offset();
  result.segment_path = segment->log_path();
  result.file_position = position;
  if (position >= limit) return result;  // the first batch reaches end_offset_max
  uint64_t length = std::min<uint64_t>(limit - position, static_cast<uint64_t>(bytes_max));
  if (length < first.size_bytes()) {
    // Not even the first batch fits: the copy path would return nothing either.
    if (!min_one_batch) return result;
    length = std::min<uint64_t>(limit - position, first.size_bytes());
  }
  if (segment->verified(position, length)) {
    CODE_PROBE(true, "broker_log.read_served_file_range");
    result.file = segment->log_file();
    result.size_bytes = length;
    return result;
  }
  CODE_PROBE(true, "broker_log.read_verified_before_file_range");
  const uint64_t generation = truncations_;
  auto copied = read_from(segment, position, bytes_max, end_offset_max, min_one_batch, first);
  // Not after a cut raced the read: what it checked may no longer be what the file holds.
  if (copied.ok() && truncations_ == generation) {
    segment->note_verified(position, copied->size_bytes);
  }
  return copied;
}

std::optional<std::pair<int64_t, Offset>> PartitionLog::max_timestamp() const {
  std::optional<std::pair<int64_t, Offset>> best;
  for (const auto& segment : segments_) {
    const int64_t ts = segment->max_timestamp_ms();
    if (ts < 0 || segment->offset_of_max_timestamp() < log_start_offset_) continue;
    if (!best || ts > best->first) best = std::make_pair(ts, segment->offset_of_max_timestamp());
  }
  return best;
}

absl::StatusOr<std::optional<Offset>> PartitionLog::offset_for_timestamp(int64_t timestamp_ms) {
  if (!failed_.ok()) return failed_;
  const uint64_t generation = truncations_;
  if (truncating(generation)) return truncated_during_read();
  const std::vector<std::shared_ptr<Segment>> segments = segments_;
  for (const auto& segment : segments) {
    if (segment->max_timestamp_ms() < timestamp_ms) continue;
    auto location = segment->find_batch_by_time(timestamp_ms);
    if (truncations_ != generation) return truncated_during_read();
    if (!location.ok()) return location.status();
    if (!location->has_value()) continue;
    auto offset =
        refine_by_timestamp(*segment, (*location)->position, (*location)->header, timestamp_ms);
    if (truncations_ != generation) return truncated_during_read();
    if (!offset.ok()) return offset.status();
    // A record below the log start counts as the log start's, if the log holds any record.
    const Offset found = std::max(*offset, log_start_offset_);
    if (found >= log_end_offset()) return std::nullopt;
    return found;
  }
  return std::nullopt;
}

// The first record of the batch whose timestamp is >= timestamp_ms: with CreateTime the
// records carry their own timestamps; with LogAppendTime they all have maxTimestamp.
absl::StatusOr<Offset> PartitionLog::refine_by_timestamp(Segment& segment, uint64_t position,
                                                         const BatchHeader& header,
                                                         int64_t timestamp_ms) {
  if (header.timestamp_type() == TimestampType::kLogAppendTime) return header.base();
  auto bytes = segment.read(position, header.size_bytes());
  if (!bytes.ok()) return bytes.status();
  auto batch = BatchView::parse(*bytes);
  if (!batch.ok()) return header.base();  // a corrupted read: the batch is close enough
  std::string storage;
  auto records = read_records(*batch, storage, kDecompressedBytesMax);
  if (!records.ok()) return header.base();
  for (const Record& r : *records) {
    if (header.base_timestamp + r.timestamp_delta >= timestamp_ms) {
      return Offset(header.base_offset + r.offset_delta);
    }
  }
  return header.base();
}

// ---------------------------------------------------------------------------------------------
// Deleting and truncating

// Deletes the `count` oldest segments (never the active one), oldest first, each removal
// durable before the next, so that a crash never leaves a hole in the middle of the log.
absl::Status PartitionLog::delete_oldest_segments(size_t count, const char* reason) {
  count = std::min(count, segments_.size() - 1);
  // The log start moves first (as in Kafka): a read running while the segments go, which
  // suspends on every removal, must never find its offset inside the log but in no segment.
  log_start_offset_ = std::max(log_start_offset_, segments_[count]->base_offset());
  for (size_t i = 0; i < count; ++i) {
    std::shared_ptr<Segment> oldest = segments_.front();
    if (auto s = oldest->remove_files(fs_); !s.ok()) return fail(s, "remove segment");
    if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
    segments_.erase(segments_.begin());
    TraceEvent(Severity::kInfo, "PartitionLogSegmentDeleted")
        .detail("Dir", dir_)
        .detail("Base", oldest->base_offset())
        .detail("Reason", reason);
  }
  log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset());
  const Offset first = segments_.front()->base_offset();
  if (auto s = remove_producer_snapshots([first](Offset o) { return o < first; }); !s.ok())
    return fail(s, "remove producer snapshots");
  if (epochs_.truncate_from_start(log_start_offset_)) {
    if (auto s = save_epochs_if_changed(); !s.ok()) return fail(s, "leader epoch checkpoint");
  }
  return absl::OkStatus();
}

absl::StatusOr<Offset> PartitionLog::delete_records_before(Offset offset) {
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  if (offset > log_end_offset()) {
    return absl::OutOfRangeError(absl::StrCat("OFFSET_OUT_OF_RANGE: ", offset.value(),
                                              " is beyond the log end offset ",
                                              log_end_offset().value()));
  }
  if (offset <= log_start_offset_) return log_start_offset_;
  log_start_offset_ = offset;
  size_t count = 0;
  while (count + 1 < segments_.size() && segments_[count + 1]->base_offset() <= offset) ++count;
  if (auto s = delete_oldest_segments(count, "delete_records"); !s.ok()) return s;
  return log_start_offset_;
}

absl::Status PartitionLog::apply_retention(int64_t now_ms) {
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  const size_t expired = producers_.expire(now_ms, config_.producer_id_expiration_ms);
  CODE_PROBE(expired > 0, "broker_log.producer_ids_expired");
  if (!config_.delete_policy) return absl::OkStatus();  // compact only: the cleaner's
  const size_t deletable = segments_.size() - 1;        // never the active segment
  size_t by_time = 0;
  if (config_.retention_ms >= 0) {
    while (by_time < deletable && segments_[by_time]->max_timestamp_ms() >= 0 &&
           now_ms - segments_[by_time]->max_timestamp_ms() > config_.retention_ms) {
      ++by_time;
    }
  }
  size_t by_size = 0;
  if (config_.retention_bytes >= 0) {
    int64_t excess = size_bytes() - config_.retention_bytes;
    while (by_size < deletable &&
           excess - static_cast<int64_t>(segments_[by_size]->size_bytes()) >= 0) {
      excess -= static_cast<int64_t>(segments_[by_size]->size_bytes());
      ++by_size;
    }
  }
  const size_t count = std::max(by_time, by_size);
  if (count == 0) return absl::OkStatus();
  CODE_PROBE(true, "broker_log.retention_deleted_segments");
  return delete_oldest_segments(count, by_time >= by_size ? "retention.ms" : "retention.bytes");
}

absl::Status PartitionLog::truncate_fully(Offset offset) {
  for (size_t i = segments_.size(); i-- > 0;) {
    if (auto s = segments_[i]->remove_files(fs_); !s.ok()) return fail(s, "remove segment");
  }
  segments_.clear();
  // The leader's history below `offset` is not this log's: no snapshot of ours describes it.
  if (auto s = remove_producer_snapshots([](Offset) { return true; }); !s.ok())
    return fail(s, "remove producer snapshots");
  auto segment = Segment::create(fs_, dir_, offset, config_.index_interval_bytes, clock_.now());
  if (!segment.ok()) return fail(segment.status(), "create segment");
  segments_.push_back(std::move(*segment));
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  log_start_offset_ = offset;
  return absl::OkStatus();
}

absl::Status PartitionLog::truncate_to(Offset offset) {
  Mutation mutation(*this);
  return truncate_locked(offset);
}

absl::Status PartitionLog::truncate_locked(Offset offset) {
  if (!failed_.ok()) return failed_;
  if (offset >= log_end_offset()) {
    // No batch to cut, but an epoch begun at the log end with nothing appended in it (a leader
    // replaced before its first append) goes: the new leader's batches at that offset carry
    // an older epoch, and the cache must not claim the newer one starts there.
    if (offset == log_end_offset() && epochs_.truncate_from_end(offset)) {
      CODE_PROBE(true, "broker_log.truncation_dropped_empty_epoch");
      if (auto s = save_epochs_if_changed(); !s.ok()) return fail(s, "leader epoch checkpoint");
    }
    return absl::OkStatus();
  }
  // Odd while the cut is in progress (a seqlock for the lock-free readers): a read that starts
  // or ends during it fails with Unavailable, never on the half-cut segment's state.
  ++truncations_;
  struct Done {
    uint64_t& counter;
    ~Done() { ++counter; }
  } done{truncations_};
  if (offset < segments_.front()->base_offset()) {
    if (auto s = truncate_fully(offset); !s.ok()) return s;
  } else {
    // Later segments go first, durably: a crash must not leave the cut segment followed by
    // one that no longer continues it (recovery would drop it, but only after serving nothing
    // from it: see README).
    bool removed = false;
    while (segments_.back()->base_offset() > offset) {
      if (auto s = segments_.back()->remove_files(fs_); !s.ok()) return fail(s, "remove");
      segments_.pop_back();
      removed = true;
    }
    if (removed) {
      if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
    }
    auto cut = segments_.back()->truncate_to(offset);
    if (!cut.ok()) return fail(cut.status(), "truncate");
  }
  recovery_point_ = std::min(recovery_point_, log_end_offset());
  log_start_offset_ = std::min(log_start_offset_, log_end_offset());
  if (auto s = load_producer_state(); !s.ok()) return fail(s, "rebuild producer state");
  if (epochs_.truncate_from_end(log_end_offset())) {
    if (auto s = save_epochs_if_changed(); !s.ok()) return fail(s, "leader epoch checkpoint");
  }
  TraceEvent(Severity::kInfo, "PartitionLogTruncated")
      .detail("Dir", dir_)
      .detail("Offset", offset)
      .detail("LogEndOffset", log_end_offset());
  return absl::OkStatus();
}

absl::Status PartitionLog::close() {
  closing_ = true;
  ActorMutex::Guard cleaner(cleaner_lock_);
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  if (auto s = segments_.back()->seal(); !s.ok()) return fail(s, "seal");
  // A clean shutdown's snapshot: the next open replays nothing.
  if (auto s = write_producer_snapshot(); !s.ok()) return fail(s, "producer snapshot");
  recovery_point_ = log_end_offset();
  failed_ = absl::FailedPreconditionError("PartitionLog: closed");
  return absl::OkStatus();
}

absl::Status PartitionLog::remove() {
  closing_ = true;
  ActorMutex::Guard cleaner(cleaner_lock_);
  Mutation mutation(*this);
  failed_ = absl::FailedPreconditionError("PartitionLog: removed");
  return remove_directory(fs_, dir_);
}

absl::Status PartitionLog::update_config(const LogConfig& config) {
  if (auto s = validate(config); !s.ok()) return s;
  // Kept from the log's opening: they describe how it was recovered, not how it runs.
  const bool rewrite = config_.recovery_rewrite_validated;
  const bool skip_crc = config_.unsafe_skip_recovery_crc_check;
  config_ = config;
  config_.recovery_rewrite_validated = rewrite;
  config_.unsafe_skip_recovery_crc_check = skip_crc;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Compaction's swap (the pass itself is in partition_log_cleaner.cc)

// Under the mutation lock: commit (`.cleaned` -> `.swap`), remove the sources, then give the
// cleaned segment its plain name, a directory fsync after each step. A crash after the commit
// leaves a `.log.swap` that open() finishes (complete_swaps); before it, a leftover it drops.
absl::Status PartitionLog::swap_in(absl::Span<const std::shared_ptr<Segment>> group,
                                   std::unique_ptr<Segment> cleaned, uint64_t truncations) {
  Mutation mutation(*this);
  if (!failed_.ok()) return failed_;
  auto at = std::find(segments_.begin(), segments_.end(), group.front());
  bool intact = truncations_ == truncations && at != segments_.end() &&
                static_cast<size_t>(segments_.end() - at) > group.size();  // not the active one
  for (size_t i = 0; intact && i < group.size(); ++i) intact = *(at + i) == group[i];
  if (!intact) {
    (void)cleaned->remove_files(fs_);
    return absl::AbortedError("the log changed while the group was cleaned");
  }
  if (auto s = cleaned->rename_files(fs_, ".swap"); !s.ok()) return fail(s, "commit swap");
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  for (const auto& source : group) {
    if (auto s = source->remove_files(fs_); !s.ok()) return fail(s, "remove cleaned source");
  }
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  if (auto s = cleaned->rename_files(fs_, ""); !s.ok()) return fail(s, "finish swap");
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return fail(s, "sync directory");
  const size_t index = static_cast<size_t>(at - segments_.begin());
  segments_.erase(at, at + static_cast<std::ptrdiff_t>(group.size()));
  segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(index), std::move(cleaned));
  WEIR_ASSERT(index + 1 < segments_.size());
  WEIR_ASSERT(segments_[index]->next_offset() == segments_[index + 1]->base_offset());
  return absl::OkStatus();
}

}  // namespace weir::broker::log
