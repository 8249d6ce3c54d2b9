// PartitionLog::open: recovery of a partition directory after any crash (README.md).
#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/log/checkpoint_file.h"
#include "broker/log/log_io.h"
#include "broker/log/partition_log.h"
#include "broker/log/segment.h"
#include "buggify/code_probe.h"
#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir::broker::log {
namespace {

constexpr char kRemovalMarker[] = "weir-delete-pending";

// Leftovers of Kafka's (and our) unfinished operations: never data the log must keep.
bool is_leftover(const std::string& name) {
  for (const char* suffix : {".tmp", ".deleted", ".cleaned", ".swap"}) {
    if (absl::EndsWith(name, suffix)) return true;
  }
  return false;
}

}  // namespace

PartitionLog::PartitionLog(IFileSystem& fs, IClock& clock, std::string dir, LogConfig config)
    : fs_(fs), clock_(clock), dir_(std::move(dir)), config_(config) {}

PartitionLog::~PartitionLog() = default;

absl::StatusOr<std::unique_ptr<PartitionLog>> PartitionLog::open(IFileSystem& fs, IClock& clock,
                                                                 std::string dir, LogConfig config,
                                                                 Offset recovery_point,
                                                                 Offset log_start_offset) {
  if (auto s = validate(config); !s.ok()) return s;
  std::unique_ptr<PartitionLog> log(new PartitionLog(fs, clock, std::move(dir), config));
  if (auto s = log->recover(recovery_point, log_start_offset); !s.ok()) return s;
  return log;
}

// Finishes the cleaner's committed swaps (PartitionLog::swap_in): a `<base>.log.swap` holds
// the cleaned form of every segment from `base` to its own end, fsynced before it got that
// name, so those segments go and it takes the plain name. (An uncommitted `.cleaned` is a
// leftover.) Its end comes from validating it, as every batch it holds was written whole.
absl::Status PartitionLog::complete_swaps() {
  auto names = fs_.list(dir_);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    auto base = parse_segment_file_name(name, absl::StrCat(kLogSuffix, ".swap"));
    if (!base.has_value()) continue;
    auto swap =
        Segment::open(fs_, dir_, *base, config_.index_interval_bytes, clock_.now(), ".swap");
    if (!swap.ok()) return swap.status();
    auto checked = (*swap)->recover(/*check_crc=*/true, /*rewrite=*/false);
    if (!checked.ok()) return checked.status();
    const Offset end = (*swap)->next_offset();
    for (const std::string& other : *names) {
      auto old = parse_segment_file_name(other, kLogSuffix);
      if (!old.has_value() || *old < *base || *old >= end) continue;
      for (const char* kind : {kIndexSuffix, kTimeIndexSuffix, kLogSuffix}) {
        auto s = fs_.remove(absl::StrCat(dir_, "/", segment_file_name(*old, kind)));
        if (!s.ok() && !absl::IsNotFound(s)) return s;
      }
    }
    if (auto s = fs_.sync_directory(dir_); !s.ok()) return s;
    if (auto s = (*swap)->rename_files(fs_, ""); !s.ok()) return s;
    if (auto s = fs_.sync_directory(dir_); !s.ok()) return s;
    CODE_PROBE(true, "broker_log.recovery_finished_a_cleaner_swap");
    TraceEvent(Severity::kInfo, "PartitionLogSwapFinished")
        .detail("Dir", dir_)
        .detail("Base", *base)
        .detail("End", end)
        .detail("Damage", checked->damage != nullptr ? checked->damage : "");
  }
  return absl::OkStatus();
}

// Segment bases (from the .log files) in order; removes index files without a log file and
// leftovers of interrupted operations.
absl::Status PartitionLog::remove_stray_files(std::vector<Offset>& bases) {
  auto names = fs_.list(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::string> stray;
  for (const std::string& name : *names) {
    if (auto base = parse_segment_file_name(name, kLogSuffix); base.has_value()) {
      bases.push_back(*base);
    } else if (is_leftover(name)) {
      stray.push_back(name);
    }
  }
  std::sort(bases.begin(), bases.end());
  for (const std::string& name : *names) {
    for (const char* suffix : {kIndexSuffix, kTimeIndexSuffix}) {
      auto base = parse_segment_file_name(name, suffix);
      if (base.has_value() && !std::binary_search(bases.begin(), bases.end(), *base)) {
        stray.push_back(name);
      }
    }
  }
  for (const std::string& name : stray) {
    if (auto s = fs_.remove(absl::StrCat(dir_, "/", name)); !s.ok()) return s;
  }
  CODE_PROBE(!stray.empty(), "broker_log.recovery_removed_stray_files");
  return absl::OkStatus();
}

absl::Status PartitionLog::load_epochs() {
  auto entries = LeaderEpochCache::load(fs_, dir_);
  if (!entries.ok()) {
    if (!absl::IsDataLoss(entries.status())) return entries.status();
    TraceEvent(Severity::kWarn, "LeaderEpochCheckpointCorrupt")
        .detail("Dir", dir_)
        .detail("Error", entries.status().ToString());
    entries = std::vector<LeaderEpochCache::Entry>{};
    saved_epochs_ = "corrupt";  // rewritten below
  }
  epochs_.reset(std::move(*entries));
  if (saved_epochs_.empty()) saved_epochs_ = epochs_.encode();
  return absl::OkStatus();
}

absl::Status PartitionLog::save_epochs_if_changed() {
  const std::string text = epochs_.encode();
  if (text == saved_epochs_) return absl::OkStatus();
  if (auto s = write_file_atomically(fs_, dir_, kLeaderEpochCheckpointName, text); !s.ok()) {
    return s;
  }
  saved_epochs_ = text;
  return absl::OkStatus();
}

// Opens every segment in order: trusted ones (below the recovery point, not last) are
// loaded from their indexes, the rest validated batch by batch. The first damage, or a
// segment that does not continue its predecessor, ends the log: everything after is removed.
absl::Status PartitionLog::recover_segments(const std::vector<Offset>& bases,
                                            Offset recovery_point) {
  const TimePoint now = clock_.now();
  bool validating = false;
  size_t i = 0;
  for (; i < bases.size(); ++i) {
    if (!segments_.empty() && bases[i] != segments_.back()->next_offset()) {
      report_.reason = absl::StrCat("segment ", bases[i].value(), " does not continue the log at ",
                                    segments_.back()->next_offset().value());
      break;
    }
    auto segment = Segment::open(fs_, dir_, bases[i], config_.index_interval_bytes, now);
    if (!segment.ok()) return segment.status();
    const bool last = i + 1 == bases.size();
    bool trusted = !validating && ((!last && bases[i + 1] <= recovery_point) ||
                                   config_.unsafe_trust_index);  // TEST ONLY: the broken variant
    if (trusted) {
      auto s = (*segment)->load_trusted();
      if (!s.ok() && !absl::IsFailedPrecondition(s)) return s;
      if (!s.ok()) {
        CODE_PROBE(true, "broker_log.recovery_trusted_segment_inconsistent");
        TraceEvent(Severity::kWarn, "PartitionLogIndexRebuilt")
            .detail("Dir", dir_)
            .detail("Segment", bases[i])
            .detail("Reason", s.message());
        ++report_.index_rebuilds;
        trusted = false;
      }
    }
    if (!trusted) {
      if (!validating) epochs_.truncate_from_end(bases[i]);  // re-derived from the batches
      validating = true;
      ++report_.segments_validated;
      auto on_batch = [this](const BatchHeader& h) {
        epochs_.assign(LeaderEpoch(h.partition_leader_epoch), h.base());
      };
      auto r = (*segment)->recover(!config_.unsafe_skip_recovery_crc_check,
                                   config_.recovery_rewrite_validated, on_batch);
      if (!r.ok()) return r.status();
      if (r->damage != nullptr) {
        report_.bytes_cut += r->file_bytes - r->valid_bytes;
        report_.reason =
            absl::StrCat(r->damage, " at byte ", r->valid_bytes, " of segment ", bases[i].value());
        segments_.push_back(std::move(*segment));
        ++i;
        break;
      }
    }
    segments_.push_back(std::move(*segment));
  }
  // Everything from bases[i] on is beyond the end of the log.
  for (size_t j = bases.size(); j-- > i;) {
    for (const char* suffix : {kIndexSuffix, kTimeIndexSuffix, kLogSuffix}) {
      auto s = fs_.remove(absl::StrCat(dir_, "/", segment_file_name(bases[j], suffix)));
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
    ++report_.segments_removed;
  }
  CODE_PROBE(report_.segments_removed > 0, "broker_log.recovery_removed_later_segments");
  return absl::OkStatus();
}

absl::Status PartitionLog::recover(Offset recovery_point, Offset log_start_offset) {
  if (auto s = fs_.create_directories(dir_); !s.ok()) return s;
  std::vector<Offset> bases;
  if (auto s = complete_swaps(); !s.ok()) return s;
  if (auto s = remove_stray_files(bases); !s.ok()) return s;
  if (auto s = load_epochs(); !s.ok()) return s;
  if (auto s = recover_segments(bases, recovery_point); !s.ok()) return s;
  if (segments_.empty()) {
    const Offset base = std::max(log_start_offset, Offset(0));
    auto segment = Segment::create(fs_, dir_, base, config_.index_interval_bytes, clock_.now());
    if (!segment.ok()) return segment.status();
    segments_.push_back(std::move(*segment));
  }
  // Removals, creations and leftovers' deletion are durable before anything is appended on
  // top of them (a resurrected later segment could otherwise seem to continue the log).
  if (auto s = fs_.sync_directory(dir_); !s.ok()) return s;
  const Offset end = log_end_offset();
  log_start_offset_ = std::min(std::max(log_start_offset, segments_.front()->base_offset()), end);
  // Trusted segments were flushed; validated ones were fsynced by their recovery.
  recovery_point_ = end;
  epochs_.truncate_from_end(end);
  epochs_.truncate_from_start(log_start_offset_);
  if (auto s = save_epochs_if_changed(); !s.ok()) return s;
  if (auto s = load_producer_state(); !s.ok()) return s;
  last_flush_ = clock_.now();
  report_.segments = static_cast<int64_t>(segments_.size());
  report_.log_end_offset = end;
  const bool cut = report_.bytes_cut > 0 || report_.segments_removed > 0;
  CODE_PROBE(cut, "broker_log.recovery_cut_tail");
  TraceEvent(cut ? Severity::kWarn : Severity::kInfo, "PartitionLogRecovered")
      .detail("Dir", dir_)
      .detail("Segments", report_.segments)
      .detail("SegmentsValidated", report_.segments_validated)
      .detail("SegmentsRemoved", report_.segments_removed)
      .detail("IndexRebuilds", report_.index_rebuilds)
      .detail("BytesCut", report_.bytes_cut)
      .detail("Reason", report_.reason)
      .detail("LogStartOffset", log_start_offset_)
      .detail("LogEndOffset", end);
  return absl::OkStatus();
}

bool PartitionLog::removal_pending(IFileSystem& fs, const std::string& dir) {
  return fs.exists(absl::StrCat(dir, "/", kRemovalMarker));
}

absl::Status PartitionLog::remove_directory(IFileSystem& fs, const std::string& dir) {
  const std::string marker = absl::StrCat(dir, "/", kRemovalMarker);
  if (!fs.exists(marker)) {
    auto f = fs.open(marker, OpenMode::kCreate);
    if (!f.ok()) return f.status();
    if (auto s = fs.sync_directory(dir); !s.ok()) return s;
  }
  auto names = fs.list(dir);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (name == kRemovalMarker) continue;
    if (auto s = fs.remove(absl::StrCat(dir, "/", name)); !s.ok()) return s;
  }
  if (auto s = fs.sync_directory(dir); !s.ok()) return s;
  if (auto s = fs.remove(marker); !s.ok()) return s;
  return fs.remove(dir);
}

}  // namespace weir::broker::log
