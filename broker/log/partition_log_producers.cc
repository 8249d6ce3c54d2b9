// PartitionLog's idempotent producer state: checks of a leader's appends, the table kept in step
// with the batches written, its `<offset>.snapshot` files, and its rebuild on open and after a
// truncation (README.md, "Idempotent producers").
#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "broker/log/checkpoint_file.h"
#include "broker/log/log_io.h"
#include "broker/log/partition_log.h"
#include "broker/log/producer_snapshot.h"
#include "broker/log/segment.h"
#include "buggify/code_probe.h"
#include "runtime/trace.h"

namespace weir::broker::log {
namespace {

constexpr size_t kSnapshotBytesMax = kProducerSnapshotHeaderBytes + kProducersMax *
                                                                        kProducerBatchesKept *
                                                                        kProducerSnapshotEntryBytes;

int32_t last_sequence(const BatchHeader& h) {
  return last_sequence_of(h.base_sequence, h.last_offset_delta);
}

// `now_ms` stands for the batch's time unless the broker stamped it (LogAppendTime): a
// producer's CreateTime may be skewed by any amount, and expiration must measure how long the
// producer has been idle here, never expire it on arrival. A replay after a restart counts the
// producer as active at the restart, which errs on the side of remembering it.
void record_header(ProducerStateTable& table, const BatchHeader& h, bool log_append_time,
                   int64_t now_ms) {
  if (h.producer_id < 0 || h.base_sequence < 0 || h.is_control()) return;
  table.record(h.producer_id, h.producer_epoch,
               {.first_sequence = h.base_sequence,
                .last_sequence = last_sequence(h),
                .first_offset = h.base_offset,
                .last_offset = h.last().value(),
                .timestamp_ms = log_append_time ? h.max_timestamp : now_ms});
}

absl::Status sequence_error(SequenceVerdict verdict, const BatchHeader& h,
                            const ProducerEntry* known) {
  const std::string what = absl::StrCat("producer ", h.producer_id, " epoch ", h.producer_epoch,
                                        " sequences ", h.base_sequence, "..", last_sequence(h));
  const std::string state = known == nullptr || known->batches.empty()
                                ? std::string(", no batch of it in the log")
                                : absl::StrCat(", the log's last is epoch ", known->epoch,
                                               " sequence ", known->batches.back().last_sequence);
  switch (verdict) {
    case SequenceVerdict::kFencedEpoch:
      return absl::FailedPreconditionError(absl::StrCat("INVALID_PRODUCER_EPOCH: ", what, state));
    case SequenceVerdict::kUnknownProducer:
      return absl::FailedPreconditionError(absl::StrCat("UNKNOWN_PRODUCER_ID: ", what, state));
    default:
      return absl::OutOfRangeError(absl::StrCat("OUT_OF_ORDER_SEQUENCE_NUMBER: ", what, state));
  }
}

}  // namespace

// The verdict on a client request's batches: nullopt to append them all, the original of a
// retried batch, or the error that refuses the request. A retry is recognised only as the
// request's one batch (Kafka's producers send one batch per partition per request); several
// batches of one producer must each continue the one before.
absl::StatusOr<std::optional<ProducerBatch>> PartitionLog::check_producers(
    absl::Span<const BatchView> batches) const {
  std::optional<ProducerBatch> duplicate;
  for (size_t i = 0; i < batches.size(); ++i) {
    const BatchHeader& h = batches[i].header();
    if (h.producer_id < 0) continue;
    const BatchHeader* previous = nullptr;
    for (size_t j = 0; j < i; ++j) {
      if (batches[j].header().producer_id == h.producer_id) previous = &batches[j].header();
    }
    SequenceCheck c;
    if (previous != nullptr) {
      const bool continues = h.producer_epoch == previous->producer_epoch &&
                             h.base_sequence == next_sequence(last_sequence(*previous));
      c.verdict = continues ? SequenceVerdict::kAppend : SequenceVerdict::kOutOfOrder;
    } else {
      c = producers_.check(h.producer_id, h.producer_epoch, h.base_sequence, last_sequence(h));
    }
    if (c.verdict == SequenceVerdict::kAppend) continue;
    if (c.verdict == SequenceVerdict::kDuplicate) {
      if (config_.unsafe_accept_duplicates) continue;  // TEST ONLY: the broken variant
      duplicate = c.duplicate_of;
      continue;
    }
    CODE_PROBE(c.verdict == SequenceVerdict::kOutOfOrder, "broker_log.producer_out_of_order");
    CODE_PROBE(c.verdict == SequenceVerdict::kUnknownProducer, "broker_log.producer_unknown");
    absl::Status refused = sequence_error(c.verdict, h, producers_.find(h.producer_id));
    TraceEvent(Severity::kInfo, "PartitionLogProducerBatchRefused")
        .detail("Dir", dir_)
        .detail("LogEndOffset", log_end_offset())
        .detail("Error", refused.message());
    return refused;
  }
  if (duplicate.has_value() && batches.size() != 1) {
    return absl::OutOfRangeError(
        "OUT_OF_ORDER_SEQUENCE_NUMBER: a retried batch among several in one request");
  }
  return duplicate;
}

void PartitionLog::note_producers(absl::Span<const BatchView> batches) {
  const int64_t now_ms = clock_.wall_ms();
  for (const BatchView& b : batches) {
    record_header(producers_, b.header(), config_.log_append_time, now_ms);
  }
}

// `<log end>.snapshot`: called where everything below the log end is flushed (a roll, after
// the seal; close), so the snapshot never claims a batch a crash could take away.
absl::Status PartitionLog::write_producer_snapshot() {
  const std::string name = segment_file_name(log_end_offset(), kProducerSnapshotSuffix);
  return write_file_atomically(fs_, dir_, name, encode_producer_snapshot(producers_));
}

absl::StatusOr<std::vector<Offset>> PartitionLog::producer_snapshot_offsets() {
  auto names = fs_.list(dir_);
  if (!names.ok()) return names.status();
  std::vector<Offset> out;
  for (const std::string& name : *names) {
    if (auto o = parse_segment_file_name(name, kProducerSnapshotSuffix)) out.push_back(*o);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Removes the snapshots `doomed` names, durably: a removal a crash undid could resurrect a
// snapshot of a history the log has since replaced (after a truncation), which would claim
// batches the log does not hold.
absl::Status PartitionLog::remove_producer_snapshots(const std::function<bool(Offset)>& doomed) {
  auto offsets = producer_snapshot_offsets();
  if (!offsets.ok()) return offsets.status();
  bool removed = false;
  for (Offset o : *offsets) {
    if (!doomed(o)) continue;
    auto s = fs_.remove(absl::StrCat(dir_, "/", segment_file_name(o, kProducerSnapshotSuffix)));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    removed = true;
  }
  if (!removed) return absl::OkStatus();
  return fs_.sync_directory(dir_);
}

absl::Status PartitionLog::replay_producers_from(Offset from) {
  const int64_t now_ms = clock_.wall_ms();
  auto record = [this, now_ms](const BatchHeader& h) {
    record_header(producers_, h, config_.log_append_time, now_ms);
  };
  for (const auto& segment : segments_) {
    if (segment->next_offset() <= from) continue;
    auto s = segment->scan_headers(std::max(from, segment->base_offset()), record);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// The table from the newest readable snapshot at or below the log end, then the batches after
// it. Without one, from the last two segments only (as Kafka: a log written before snapshots
// existed is not scanned whole; a producer older than that starts over with
// UNKNOWN_PRODUCER_ID).
absl::Status PartitionLog::load_producer_state() {
  producers_.clear();
  const Offset end = log_end_offset();
  if (auto s = remove_producer_snapshots([end](Offset o) { return o > end; }); !s.ok()) return s;
  auto offsets = producer_snapshot_offsets();
  if (!offsets.ok()) return offsets.status();
  Offset from = segments_[segments_.size() >= 2 ? segments_.size() - 2 : 0]->base_offset();
  for (auto it = offsets->rbegin(); it != offsets->rend(); ++it) {
    const std::string path =
        absl::StrCat(dir_, "/", segment_file_name(*it, kProducerSnapshotSuffix));
    auto bytes = read_text_file(fs_, path, kSnapshotBytesMax);
    if (!bytes.ok() && !absl::IsDataLoss(bytes.status())) return bytes.status();
    auto table = bytes.ok() ? decode_producer_snapshot(*bytes)
                            : absl::StatusOr<ProducerStateTable>(bytes.status());
    if (table.ok()) {
      producers_ = *std::move(table);
      from = *it;
      CODE_PROBE(true, "broker_log.producer_snapshot_loaded");
      break;
    }
    CODE_PROBE(true, "broker_log.producer_snapshot_corrupt");
    TraceEvent(Severity::kWarn, "ProducerSnapshotCorrupt")
        .detail("Path", path)
        .detail("Error", table.status().ToString());
    const Offset bad = *it;
    if (auto s = remove_producer_snapshots([bad](Offset o) { return o == bad; }); !s.ok()) return s;
  }
  if (auto s = replay_producers_from(from); !s.ok()) return s;
  producers_.expire(clock_.wall_ms(), config_.producer_id_expiration_ms);
  return absl::OkStatus();
}

}  // namespace weir::broker::log
