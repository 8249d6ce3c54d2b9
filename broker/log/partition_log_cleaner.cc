// PartitionLog's compaction pass (cleanup.policy=compact): the offset map over the dirty
// section, the rewrite of the cleanable segments in groups, and the crash-safe swap of each
// group's cleaned segment for its sources (README.md, "Compaction").
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/log/compression.h"
#include "broker/log/partition_log.h"
#include "broker/log/records.h"
#include "broker/log/segment.h"
#include "buggify/code_probe.h"
#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir::broker::log {
namespace {

constexpr char kCleanedSuffix[] = ".cleaned";
constexpr size_t kReadChunkBytes = 1 << 20;
constexpr size_t kWriteChunkBytes = 1 << 20;
constexpr size_t kDecompressedBytesMax = 64 << 20;

bool stopped(const bool* stop) {
  return stop != nullptr && *stop;
}

// Calls `f` with every batch of a sealed segment, in order, each CRC-checked. Reads go through
// Segment::read (two reads agree), so a CRC mismatch is damage on the disk: DataLoss.
absl::Status for_each_batch(Segment& segment,
                            const std::function<absl::Status(const BatchView&)>& f) {
  const uint64_t size = segment.size_bytes();
  uint64_t position = 0;
  while (position < size) {
    auto chunk = segment.read(position, std::min<uint64_t>(kReadChunkBytes, size - position));
    if (!chunk.ok()) return chunk.status();
    auto first = parse_batch_header(*chunk);
    if (!first.ok() || first->size_bytes() > size - position)
      return absl::DataLossError(absl::StrCat(segment.log_path(), ": no batch at ", position));
    if (first->size_bytes() > chunk->size()) {  // one batch larger than a chunk
      chunk = segment.read(position, first->size_bytes());
      if (!chunk.ok()) return chunk.status();
    }
    std::string_view rest = *chunk;
    while (rest.size() >= kBatchHeaderBytes) {
      auto h = parse_batch_header(rest);
      if (!h.ok())
        return absl::DataLossError(absl::StrCat(segment.log_path(), ": ", h.status().message()));
      if (h->size_bytes() > rest.size()) break;  // continues in the next chunk
      auto view = BatchView::parse(rest.substr(0, h->size_bytes()));
      if (!view.ok())
        return absl::DataLossError(
            absl::StrCat(segment.log_path(), " at ", position, ": ", view.status().message()));
      if (auto s = f(*view); !s.ok()) return s;
      position += h->size_bytes();
      rest.remove_prefix(h->size_bytes());
    }
  }
  return absl::OkStatus();
}

// Consecutive segments whose sizes add up to at most one segment (and whose offsets fit the
// index's relative u32), each group to become one cleaned segment.
std::vector<absl::Span<const std::shared_ptr<Segment>>> group_segments(
    absl::Span<const std::shared_ptr<Segment>> segments, int64_t segment_bytes_max) {
  std::vector<absl::Span<const std::shared_ptr<Segment>>> groups;
  size_t i = 0;
  while (i < segments.size()) {
    size_t j = i + 1;
    uint64_t bytes = segments[i]->size_bytes();
    while (j < segments.size() &&
           bytes + segments[j]->size_bytes() <= static_cast<uint64_t>(segment_bytes_max) &&
           segments[j]->next_offset().value() - segments[i]->base_offset().value() <= INT32_MAX) {
      bytes += segments[j]->size_bytes();
      ++j;
    }
    groups.push_back(segments.subspan(i, j - i));
    i = j;
  }
  return groups;
}

}  // namespace

CleanableExtent PartitionLog::cleanable_extent(Offset first_dirty, int64_t now_ms) const {
  CleanableExtent e;
  // A checkpoint outside the log (a truncation or DeleteRecords since) starts over at the start.
  e.first_dirty = first_dirty < log_start_offset_ || first_dirty > log_end_offset()
                      ? log_start_offset_
                      : first_dirty;
  e.end = segments_.front()->base_offset();
  const Offset bound = std::min(segments_.back()->base_offset(), high_watermark());
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    const Segment& s = *segments_[i];
    if (s.next_offset() > bound) break;
    if (config_.min_compaction_lag_ms > 0 &&
        s.max_timestamp_ms() > now_ms - config_.min_compaction_lag_ms)
      break;
    e.end = s.next_offset();
    (s.next_offset() <= e.first_dirty ? e.clean_bytes : e.dirty_bytes) += s.size_bytes();
  }
  return e;
}

absl::StatusOr<CompactionReport> PartitionLog::compact(const CleanerOptions& options) {
  ActorMutex::Guard cleaner(cleaner_lock_);
  if (!failed_.ok()) return failed_;
  if (!config_.compact) return absl::FailedPreconditionError("cleanup.policy has no compact");
  const CleanableExtent extent = cleanable_extent(options.first_dirty, options.now_ms);
  CompactionReport report;
  report.first_dirty = extent.first_dirty;
  if (extent.end <= extent.first_dirty) return report;
  // The segments the pass reads, held: retention or a truncation may drop them meanwhile, and
  // the swap then sees that they are no longer the log's.
  std::vector<std::shared_ptr<Segment>> cleanable;
  for (const auto& s : segments_) {
    if (s->next_offset() > extent.end) break;
    cleanable.push_back(s);
  }
  // A truncation cuts segments in place (the same objects stay in segments_): a group cleaned
  // from bytes a truncation has since cut must not be swapped in (swap_in checks this count).
  const uint64_t truncations = truncations_;
  OffsetMap map(options.offset_map_bytes_max);
  auto map_end = build_offset_map(cleanable, extent.first_dirty, extent.end, map, options.stop);
  if (truncations_ != truncations) {
    // The map may hold keys of records the truncation removed: this pass is void.
    CODE_PROBE(true, "broker_log.cleaner_pass_voided_by_a_truncation");
    report.groups_abandoned = 1;
    return report;
  }
  if (!map_end.ok()) return map_end.status();
  report.map_full = *map_end < extent.end;
  CODE_PROBE(report.map_full, "broker_log.cleaner_offset_map_full");
  if (*map_end <= extent.first_dirty) return report;
  size_t n = 0;
  while (n < cleanable.size() && cleanable[n]->base_offset() < *map_end) ++n;
  for (auto group :
       group_segments(absl::MakeConstSpan(cleanable).subspan(0, n), config_.segment_bytes_max)) {
    if (auto s = clean_group(group, map, *map_end, options, truncations, report); !s.ok()) return s;
    if (!failed_.ok()) return failed_;
    // A group left as it was keeps records the map supersedes: a later group must not then drop
    // a tombstone (an older value of its key could come back), nor may the checkpoint claim the
    // range clean. The pass ends here; the next one starts from the same place.
    if (report.groups_abandoned > 0) {
      report.first_dirty = extent.first_dirty;
      return report;
    }
  }
  report.first_dirty = *map_end;
  TraceEvent(Severity::kInfo, "PartitionLogCleaned")
      .detail("Dir", dir_)
      .detail("FirstDirty", report.first_dirty)
      .detail("MapFull", report.map_full)
      .detail("Keys", map.size())
      .detail("Groups", report.groups_rewritten)
      .detail("Abandoned", report.groups_abandoned)
      .detail("SegmentsBefore", report.segments_before)
      .detail("SegmentsAfter", report.segments_after)
      .detail("BytesBefore", report.bytes_before)
      .detail("BytesAfter", report.bytes_after)
      .detail("RecordsRead", report.stats.records_read)
      .detail("RecordsKept", report.stats.records_kept)
      .detail("TombstonesDropped", report.stats.tombstones_dropped);
  return report;
}

// Each key's latest offset in [first_dirty, end); returns how far the map reached (end, or the
// base of the batch that did not fit: everything from there on is kept as it is).
absl::StatusOr<Offset> PartitionLog::build_offset_map(
    absl::Span<const std::shared_ptr<Segment>> segments, Offset first_dirty, Offset end,
    OffsetMap& map, const bool* stop) {
  std::string storage;
  std::optional<Offset> full_at;
  for (const auto& segment : segments) {
    if (segment->next_offset() <= first_dirty) continue;
    auto s = for_each_batch(*segment, [&](const BatchView& b) -> absl::Status {
      if (closing_ || stopped(stop)) return absl::CancelledError("the cleaner is stopping");
      const BatchHeader& h = b.header();
      if (h.last() < first_dirty || h.is_control() || h.record_count == 0) return absl::OkStatus();
      auto records = read_records(b, storage, kDecompressedBytesMax);
      if (!records.ok()) return records.status();
      for (const Record& r : *records) {
        const Offset offset(h.base_offset + r.offset_delta);
        if (!r.key.has_value() || offset < first_dirty) continue;
        if (!map.put(*r.key, offset)) {
          full_at = h.base();
          return absl::CancelledError("offset map full");
        }
      }
      return absl::OkStatus();
    });
    if (full_at.has_value()) return std::max(*full_at, first_dirty);
    if (!s.ok()) return s;
  }
  return end;
}

absl::Status PartitionLog::clean_group(absl::Span<const std::shared_ptr<Segment>> group,
                                       const OffsetMap& map, Offset map_end,
                                       const CleanerOptions& options, uint64_t truncations,
                                       CompactionReport& report) {
  const int64_t now_ms = options.now_ms;
  const bool* stop = options.stop;
  const Offset base = group.front()->base_offset();
  const Offset end = group.back()->next_offset();
  auto cleaned =
      Segment::create(fs_, dir_, base, config_.index_interval_bytes, clock_.now(), kCleanedSuffix);
  if (!cleaned.ok()) return cleaned.status();
  std::string pending;  // emitted batches not yet written, one write per chunk
  auto write_pending = [&]() -> absl::Status {
    if (pending.empty()) return absl::OkStatus();
    auto views = split_batches(pending, SIZE_MAX);
    if (!views.ok()) return views.status();
    auto s = (*cleaned)->append(pending, *views);
    pending.clear();
    return s;
  };
  CleanedRunBuilder builder(base, kDecompressedBytesMax, [&](std::string_view batch) {
    pending.append(batch);
    return pending.size() >= kWriteChunkBytes ? write_pending() : absl::OkStatus();
  });
  absl::Status status;
  for (const auto& source : group) {
    // Tombstones go once their segment's newest record is older than delete.retention.ms.
    const int64_t newest = source->max_timestamp_ms();
    const RetainRule rule{
        .map = &map,
        .map_end = map_end,
        .drop_tombstones = newest >= 0 && newest < now_ms - config_.delete_retention_ms,
        .unsafe_drop_latest = config_.unsafe_cleaner_drops_latest};
    status = for_each_batch(*source, [&](const BatchView& b) {
      if (closing_ || stopped(stop)) return absl::CancelledError("the cleaner is stopping");
      // A segment cut (and maybe appended to) under the pass: its bytes are no longer the ones
      // the builder was following, so the group is given up before they can reach it.
      if (truncations_ != truncations) return absl::AbortedError("truncated during the pass");
      return builder.add(b, rule);
    });
    if (!status.ok()) break;
  }
  if (status.ok() && truncations_ != truncations)
    status = absl::AbortedError("truncated during the pass");
  if (status.ok()) status = builder.finish(end);
  if (status.ok()) status = write_pending();
  const CleanStats& st = builder.stats();
  const bool unchanged = group.size() == 1 && st.batches_removed == 0 &&
                         st.batches_rewritten == 0 && st.tombstones_dropped == 0;
  if (status.ok() && !unchanged) status = (*cleaned)->seal();
  if (truncations_ != truncations && (status.ok() || !absl::IsCancelled(status)))
    status = absl::AbortedError("truncated during the pass");
  if (!status.ok() || unchanged) {
    (void)(*cleaned)->remove_files(fs_);  // a leftover is removed by the next open anyway
    if (absl::IsAborted(status)) {
      CODE_PROBE(true, "broker_log.cleaner_abandoned_a_group");
      ++report.groups_abandoned;
      return absl::OkStatus();
    }
    return status;
  }
  uint64_t before = 0;
  for (const auto& s : group) before += s->size_bytes();
  const uint64_t after = (*cleaned)->size_bytes();
  auto swapped = swap_in(group, std::move(*cleaned), truncations);
  if (absl::IsAborted(swapped)) {
    CODE_PROBE(true, "broker_log.cleaner_abandoned_a_group");
    ++report.groups_abandoned;
    return absl::OkStatus();
  }
  if (!swapped.ok()) return swapped;
  CODE_PROBE(group.size() > 1, "broker_log.cleaner_merged_segments");
  ++report.groups_rewritten;
  report.segments_before += static_cast<int64_t>(group.size());
  report.segments_after += 1;
  report.bytes_before += before;
  report.bytes_after += after;
  report.stats += st;
  return absl::OkStatus();
}

}  // namespace weir::broker::log
