#include "broker/log/compaction.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/log/compression.h"
#include "broker/log/log_io.h"
#include "broker/log/records.h"
#include "runtime/assert.h"

namespace weir::broker::log {
namespace {

void put_field(std::string& batch, size_t at, uint64_t v, size_t n) {
  WEIR_ASSERT(at + n <= batch.size());
  put_be(batch.data() + at, v, n);
}

void seal_crc(std::string& batch) {
  put_field(batch, batch_field::kCrc, compute_batch_crc(batch), 4);
}

// The source header with `records` (already compressed as the header says) as its records.
std::string rebuilt_batch(std::string_view source, std::string_view records, int32_t count) {
  std::string out;
  out.reserve(kBatchHeaderBytes + records.size());
  out.append(source.substr(0, kBatchHeaderBytes));
  out.append(records);
  put_field(out, batch_field::kBatchLength, out.size() - kLogOverheadBytes, 4);
  put_field(out, batch_field::kRecordCount, static_cast<uint32_t>(count), 4);
  seal_crc(out);
  return out;
}

// Debian's Abseil has its own string_view, which std::string_view does not convert to.
absl::string_view as_absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace

bool OffsetMap::put(std::string_view key, Offset offset) {
  auto it = map_.find(as_absl(key));
  if (it != map_.end()) {
    WEIR_ASSERT(it->second <= offset.value());
    it->second = offset.value();
    return true;
  }
  const size_t cost = key.size() + kEntryOverheadBytes;
  if (bytes_used_ + cost > bytes_max_) return false;
  bytes_used_ += cost;
  map_.emplace(std::string(key), offset.value());
  return true;
}

std::optional<Offset> OffsetMap::latest(std::string_view key) const {
  auto it = map_.find(as_absl(key));
  if (it == map_.end()) return std::nullopt;
  return Offset(it->second);
}

// On the produce path: one pass over the records, no vector of them (decompressing first when
// the batch is compressed, as Kafka's LogValidator must for this check).
absl::Status check_keyed(const BatchView& batch, size_t decompressed_bytes_max) {
  const BatchHeader& h = batch.header();
  std::string storage;
  std::string_view area = batch.records_bytes();
  if (h.compression() != Compression::kNone) {
    auto plain = decompress(h.compression(), area, decompressed_bytes_max);
    if (!plain.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("INVALID_RECORD: records unreadable: ", plain.status().message()));
    storage = std::move(*plain);
    area = storage;
  }
  RecordIterator it(area, h.record_count);
  Record r;
  while (it.next(r)) {
    if (!r.key.has_value())
      return absl::InvalidArgumentError(
          "INVALID_RECORD: a compacted topic cannot accept a record without a key");
  }
  if (auto s = it.status(); !s.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("INVALID_RECORD: records unreadable: ", s.message()));
  return absl::OkStatus();
}

CleanStats& CleanStats::operator+=(const CleanStats& o) {
  batches_read += o.batches_read;
  records_read += o.records_read;
  records_kept += o.records_kept;
  tombstones_dropped += o.tombstones_dropped;
  batches_rewritten += o.batches_rewritten;
  batches_removed += o.batches_removed;
  gaps_absorbed += o.gaps_absorbed;
  empty_batches += o.empty_batches;
  bytes_read += o.bytes_read;
  bytes_written += o.bytes_written;
  return *this;
}

// build_batch's batch of no records (timestamps -1, so a timestamp lookup passes over it, and
// no producer), stretched over the offsets it stands for.
std::string empty_batch(Offset base, Offset end, int32_t leader_epoch) {
  WEIR_ASSERT(end > base && end.value() - base.value() - 1 <= std::numeric_limits<int32_t>::max());
  auto out = build_batch(
      {}, BatchOptions{.base_offset = base, .partition_leader_epoch = LeaderEpoch(leader_epoch)});
  WEIR_ASSERT(out.ok());
  put_field(*out, batch_field::kLastOffsetDelta,
            static_cast<uint32_t>(end.value() - base.value() - 1), 4);
  seal_crc(*out);
  return *std::move(out);
}

CleanedRunBuilder::CleanedRunBuilder(Offset base, size_t decompressed_bytes_max, Emit emit)
    : covered_(base), decompressed_bytes_max_(decompressed_bytes_max), emit_(std::move(emit)) {}

// nullopt: every record goes. Otherwise the batch to write: the source bytes when every record
// stays (and for control batches, which a cleaner without transactions keeps), else the kept
// records' bytes copied whole under the source header. A record's offset and timestamp are
// deltas from the header's base fields, which do not change, so its bytes stay valid.
absl::StatusOr<std::optional<std::string>> CleanedRunBuilder::filter(const BatchView& batch,
                                                                     const RetainRule& rule) {
  const BatchHeader& h = batch.header();
  if (h.is_control()) return std::optional<std::string>(std::string(batch.bytes()));
  std::string_view area = batch.records_bytes();
  if (h.compression() != Compression::kNone) {
    auto plain = decompress(h.compression(), area, decompressed_bytes_max_);
    if (!plain.ok()) return plain.status();
    storage_ = std::move(*plain);
    area = storage_;
  }
  std::string kept;
  int32_t kept_count = 0;
  RecordIterator it(area, h.record_count);
  Record r;
  size_t at = 0;
  while (it.next(r)) {
    const std::string_view raw = area.substr(at, it.position() - at);
    at = it.position();
    ++stats_.records_read;
    const Offset offset(h.base_offset + r.offset_delta);
    if (!r.key.has_value()) continue;
    if (offset < rule.map_end) {
      const std::optional<Offset> latest = rule.map->latest(*r.key);
      if (latest.has_value() &&
          (*latest > offset || (rule.unsafe_drop_latest && *latest == offset)))
        continue;
    }
    if (!r.value.has_value() && rule.drop_tombstones) {
      ++stats_.tombstones_dropped;
      continue;
    }
    kept.append(raw);
    ++kept_count;
  }
  if (auto s = it.status(); !s.ok())
    return absl::DataLossError(absl::StrCat("batch at offset ", h.base_offset, ": ", s.message()));
  stats_.records_kept += kept_count;
  if (kept_count == 0) return std::optional<std::string>();
  if (kept_count == h.record_count) return std::optional<std::string>(std::string(batch.bytes()));
  ++stats_.batches_rewritten;
  if (h.compression() != Compression::kNone) {
    auto packed = compress(h.compression(), kept);
    if (!packed.ok()) return packed.status();
    kept = std::move(*packed);
  }
  return std::optional<std::string>(rebuilt_batch(batch.bytes(), kept, kept_count));
}

absl::Status CleanedRunBuilder::add(const BatchView& batch, const RetainRule& rule) {
  const BatchHeader& h = batch.header();
  if (h.base() != covered_)
    return absl::DataLossError(absl::StrCat("batch at offset ", h.base_offset, " where ",
                                            covered_.value(), " was next: not contiguous"));
  ++stats_.batches_read;
  stats_.bytes_read += batch.size_bytes();
  auto out = filter(batch, rule);
  if (!out.ok()) return out.status();
  covered_ = Offset(h.last().value() + 1);
  if (!out->has_value()) {
    note_removed(h);
    return absl::OkStatus();
  }
  if (auto s = close_gaps(); !s.ok()) return s;
  if (auto s = emit_held(); !s.ok()) return s;
  held_ = std::move(**out);
  return absl::OkStatus();
}

void CleanedRunBuilder::note_removed(const BatchHeader& h) {
  ++stats_.batches_removed;
  if (!gaps_.empty() && gaps_.back().end == h.base() &&
      gaps_.back().leader_epoch == h.partition_leader_epoch) {
    gaps_.back().end = Offset(h.last().value() + 1);
    return;
  }
  gaps_.push_back(Gap{h.base(), Offset(h.last().value() + 1), h.partition_leader_epoch});
}

// The held batch takes the first gap when nothing it states becomes false by it: no producer
// sequences (an idempotent batch's last sequence is baseSequence + lastOffsetDelta), no
// control marker, and the same leader epoch (the epoch cache is rebuilt from batch epochs).
absl::Status CleanedRunBuilder::close_gaps() {
  for (size_t i = 0; i < gaps_.size(); ++i) {
    const Gap& g = gaps_[i];
    if (i == 0 && held_.has_value()) {
      auto h = parse_batch_header(*held_);
      WEIR_ASSERT(h.ok());
      const int64_t delta = g.end.value() - 1 - h->base_offset;
      if (h->producer_id < 0 && !h->is_control() && h->partition_leader_epoch == g.leader_epoch &&
          delta <= std::numeric_limits<int32_t>::max()) {
        put_field(*held_, batch_field::kLastOffsetDelta, static_cast<uint32_t>(delta), 4);
        seal_crc(*held_);
        ++stats_.gaps_absorbed;
        continue;
      }
    }
    if (auto s = emit_held(); !s.ok()) return s;
    ++stats_.empty_batches;
    const std::string filler = empty_batch(g.start, g.end, g.leader_epoch);
    stats_.bytes_written += filler.size();
    if (auto s = emit_(filler); !s.ok()) return s;
  }
  gaps_.clear();
  return absl::OkStatus();
}

absl::Status CleanedRunBuilder::emit_held() {
  if (!held_.has_value()) return absl::OkStatus();
  std::string batch = std::move(*held_);
  held_.reset();
  stats_.bytes_written += batch.size();
  return emit_(batch);
}

absl::Status CleanedRunBuilder::finish(Offset end) {
  if (covered_ != end)
    return absl::DataLossError(
        absl::StrCat("the batches end at ", covered_.value(), ", the segments at ", end.value()));
  if (auto s = close_gaps(); !s.ok()) return s;
  return emit_held();
}

}  // namespace weir::broker::log
