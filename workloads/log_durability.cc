#include "workloads/log_durability.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/log/checkpoint_file.h"
#include "broker/log/log_manager.h"
#include "broker/log/partition_log.h"
#include "broker/log/record_batch.h"
#include "broker/log/records.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "buggify/knobs.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/hash.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"

namespace weir::workloads {

using broker::LeaderEpoch;
using broker::Offset;
using broker::log::BatchView;
using broker::log::LeaderEpochCache;
using broker::log::LogConfig;
using broker::log::LogManager;
using broker::log::PartitionLog;
using broker::log::ReadResult;
using broker::log::TopicPartition;

namespace {

// How long a writer waits before reopening its logs after an error.
Knob log_writer_restart_delay_ms("log_writer_restart_delay_ms", 50, 1, 2000);

constexpr char kTopic[] = "events";
constexpr int64_t kTimestampBaseMs = 1'700'000'000'000;
constexpr int32_t kCheckReadBytes = 64 << 10;
constexpr int kValueBytesMax = 400;
// Transient faults (EIO, reads that never agreed) a check rides out before it gives up and
// the writer reopens its logs.
constexpr int kTransientRetries = 20;
// After healing, a writer that fails to reopen its logs this many times in a row is stuck.
constexpr uint64_t kOpenFailuresMax = 100;

uint64_t digest_of(std::string_view bytes) {
  return hash_bytes(0x10d1, bytes);
}

TopicPartition topic_partition(int32_t p) {
  return TopicPartition{kTopic, p};
}

}  // namespace

int64_t log_durability_timestamp_ms(int64_t offset, uint64_t generation) {
  // 10 ms per offset dominates the generation's term: strictly increasing along any log.
  return kTimestampBaseMs + 10 * offset + static_cast<int64_t>(generation % 10);
}

std::string make_log_durability_batch(int32_t partition, int64_t base, uint64_t generation) {
  using broker::log::BatchOptions;
  using broker::log::Compression;
  using broker::log::RecordInput;
  const uint64_t h =
      hash_combine(hash_combine(hash_combine(0x1064, static_cast<uint64_t>(partition)),
                                static_cast<uint64_t>(base)),
                   generation);
  const int records = 1 + static_cast<int>(h % 4);
  const Compression codec = (h >> 8) % 10 < 3 ? Compression::kLz4 : Compression::kNone;
  std::vector<RecordInput> in;
  for (int i = 0; i < records; ++i) {
    const int64_t offset = base + i;
    uint64_t v = mix64(h + static_cast<uint64_t>(i));
    std::string value(1 + v % kValueBytesMax, '\0');
    // Runs of a repeated word, so that LZ4 finds something to compress.
    for (size_t j = 0; j < value.size(); ++j) {
      if (j % 32 == 0) v = mix64(v + j);
      value[j] = static_cast<char>(v >> (8 * (j % 4)));
    }
    in.push_back(RecordInput{.key = absl::StrCat("p", partition, "-", offset, "-g", generation),
                             .value = std::move(value),
                             .timestamp_ms = log_durability_timestamp_ms(offset, generation)});
  }
  auto batch = broker::log::build_batch(
      in, BatchOptions{.compression = codec,
                       .base_offset = Offset(base),
                       .partition_leader_epoch = LeaderEpoch(static_cast<int32_t>(generation))});
  WEIR_ASSERT(batch.ok());
  return std::move(*batch);
}

void LogDurability::Ledger::violation(std::string what) {
  TraceEvent(Severity::kWarnAlways, "LogDurabilityViolation").detail("What", what);
  if (violations.size() < 100) violations.push_back(std::move(what));
}

namespace {

using Partition = LogDurability::Partition;

// A batch the checker found in a recovered log.
struct Present {
  int64_t base = 0;
  int64_t last = 0;
  uint64_t generation = 0;
};

// Walks the whole batches a read starting at `start` returned: each must pass its CRC, be the
// batch the ledger holds at its base offset, end below `end_max`, and follow the previous one
// (the first must hold `start`). Returns what is wrong, "" when nothing; `seen` gets the
// batches.
std::string verify_read(const Partition& m, std::string_view records, int64_t start,
                        int64_t end_max, std::vector<Present>* seen) {
  int64_t expect = start;
  bool first = true;
  while (!records.empty()) {
    auto h = broker::log::parse_batch_header(records);
    if (!h.ok() || h->size_bytes() > records.size()) {
      return absl::StrCat("a read at offset ", start, " returned a partial batch at ", expect);
    }
    const std::string_view bytes = records.substr(0, h->size_bytes());
    if (!BatchView::parse(bytes).ok()) {
      return absl::StrCat("a read at offset ", start, " returned a batch that fails its CRC at ",
                          h->base_offset);
    }
    const bool in_place =
        first ? h->base_offset <= expect && h->last().value() >= expect : h->base_offset == expect;
    if (!in_place) {
      return absl::StrCat("a read at offset ", start, " returned the batch at ", h->base_offset,
                          " where offset ", expect, " belongs");
    }
    if (h->last().value() >= end_max) {
      return absl::StrCat("a read bounded by offset ", end_max, " returned a batch up to ",
                          h->last().value());
    }
    auto it = m.batches.find(h->base_offset);
    if (it == m.batches.end() || it->second.last != h->last().value() ||
        it->second.size_bytes != bytes.size() || it->second.digest != digest_of(bytes)) {
      return absl::StrCat("the log holds bytes at offset ", h->base_offset,
                          " that are not the batch appended there",
                          it == m.batches.end()
                              ? " (nothing was appended there)"
                              : absl::StrCat(" (generation ", it->second.generation, ")"));
    }
    if (seen != nullptr)
      seen->push_back({h->base_offset, h->last().value(), it->second.generation});
    expect = h->last().value() + 1;
    first = false;
    records.remove_prefix(bytes.size());
  }
  return "";
}

// Runs `call` until it succeeds or fails with something other than a transient fault: DataLoss
// and OutOfRange are answers, and a failed log answers nothing more.
template <class Call>
auto retry_transient(PartitionLog& log, Call&& call) {
  for (int attempt = 0;; ++attempt) {
    auto r = call();
    if (r.ok() || absl::IsDataLoss(r.status()) || absl::IsOutOfRange(r.status()) ||
        !log.failure().ok() || attempt + 1 >= kTransientRetries) {
      return r;
    }
    CODE_PROBE(true, "log_durability.check_rode_out_transient_fault");
    delay(20ms);
  }
}

absl::StatusOr<ReadResult> read_retrying(PartitionLog& log, int64_t start, int32_t bytes_max) {
  return retry_transient(
      log, [&] { return log.read(Offset(start), bytes_max, log.log_end_offset(), true); });
}

std::string describe(const std::vector<LeaderEpochCache::Entry>& entries) {
  return absl::StrJoin(entries, " ", [](std::string* out, const LeaderEpochCache::Entry& e) {
    absl::StrAppend(out, e.epoch.value(), "@", e.start_offset.value());
  });
}

// What the reader of one writer process needs; all of it outlives the process's actors.
struct ReaderContext {
  std::shared_ptr<LogDurability::Ledger> ledger;
  LogDurability::Writer* state = nullptr;
  std::string name;
  IRandom* random = nullptr;
  int partitions = 0;
};

// One concurrent read of a random range, checked against the ledger (invariant 4).
void read_once(const ReaderContext& c, LogManager& manager) {
  const int32_t p = static_cast<int32_t>(c.random->below(static_cast<uint64_t>(c.partitions)));
  PartitionLog* log = manager.get(topic_partition(p));
  if (log == nullptr) return;
  const int64_t log_start = log->log_start_offset().value();
  const int64_t end = log->log_end_offset().value();
  if (end <= log_start) return;
  const int64_t start = log_start + static_cast<int64_t>(c.random->below(end - log_start));
  const int32_t bytes_max =
      c.random->coinflip(0.3) ? 1 : static_cast<int32_t>(1 + c.random->below(32 << 10));
  const int64_t end_max = c.random->coinflip(0.2)
                              ? start + 1 + static_cast<int64_t>(c.random->below(end - start))
                              : end;
  auto r = log->read(Offset(start), bytes_max, Offset(end_max), c.random->coinflip(0.8));
  LogDurability::Stats& stats = c.ledger->stats;
  if (!r.ok()) {
    ++stats.read_errors;
    if (absl::IsDataLoss(r.status()) && log->failure().ok()) {
      c.ledger->violation(absl::StrCat(c.name, "/", kTopic, "-", p, ": a read at offset ", start,
                                       " of a live log failed: ", r.status().ToString()));
    }
    return;
  }
  std::vector<Present> seen;
  const std::string what = verify_read(c.state->partitions[p], r->records, start, end_max, &seen);
  if (!what.empty()) c.ledger->violation(absl::StrCat(c.name, "/", kTopic, "-", p, ": ", what));
  ++stats.reads_checked;
  stats.read_batches_checked += seen.size();
}

// The checkpoint files as they are on disk.
struct Checkpoints {
  broker::log::OffsetCheckpoint recovery_points;
  broker::log::OffsetCheckpoint log_starts;
};

// One incarnation of a writer process: it owns the LogManager of its two log dirs.
class LogWriter {
 public:
  LogWriter(ProcessContext& ctx, const LogDurability::Options& options, const LogConfig& config,
            std::shared_ptr<LogDurability::Ledger> ledger)
      : ctx_(ctx),
        options_(options),
        config_(config),
        ledger_(std::move(ledger)),
        state_(ledger_->writers[ctx.name]),
        stats_(ledger_->stats) {}

  void run();

 private:
  std::vector<std::string> log_dirs() const {
    return {ctx_.data_dir + "/logs-a", ctx_.data_dir + "/logs-b"};
  }
  Partition& partition(int32_t p) { return state_.partitions[p]; }
  void violation(int32_t p, const std::string& what) {
    ledger_->violation(absl::StrCat(ctx_.name, "/", kTopic, "-", p, ": ", what));
  }

  absl::Status incarnation();
  absl::Status open_and_check(bool final_check);
  absl::StatusOr<std::string> read_stable(const std::string& path);
  absl::StatusOr<Checkpoints> read_checkpoints();
  absl::Status check_recovered(int32_t p, PartitionLog& log, const Checkpoints& checkpoints,
                               bool final_check);
  absl::StatusOr<std::vector<Present>> check_prefix(int32_t p, PartitionLog& log, bool& broken);
  void check_flushed(int32_t p, PartitionLog& log);
  void check_checkpoints(int32_t p, PartitionLog& log, const Checkpoints& checkpoints);
  void check_clean_reopen(int32_t p, PartitionLog& log);
  absl::Status check_lookups(int32_t p, PartitionLog& log, const std::vector<Present>& present,
                             int64_t validated_from, bool all);
  absl::Status check_batch_lookups(int32_t p, PartitionLog& log, const Present& batch);
  absl::Status check_time_bounds(int32_t p, PartitionLog& log, const std::vector<Present>& present);
  void check_epochs(int32_t p, PartitionLog& log, const std::vector<Present>& present);
  void adopt_recovered(int32_t p, PartitionLog& log);
  void note_durable(int32_t p, PartitionLog& log);

  absl::Status step();
  absl::Status append(int32_t p, PartitionLog& log);
  absl::Status truncate(int32_t p, PartitionLog& log);
  absl::Status delete_records(int32_t p, PartitionLog& log);
  absl::Status retention(int32_t p, PartitionLog& log);
  absl::Status checkpoint();
  absl::Status flush_due();
  absl::Status finish();
  void start_reader();

  ProcessContext& ctx_;
  const LogDurability::Options options_;
  const LogConfig config_;
  std::shared_ptr<LogDurability::Ledger> ledger_;
  LogDurability::Writer& state_;
  LogDurability::Stats& stats_;
  uint64_t generation_ = 0;
  // Log end offsets after a successful close in this incarnation: the reopen must find them.
  std::map<int32_t, int64_t> closed_ends_;
  // Shared with the reader, which may still be unwinding when the writer reopens.
  std::shared_ptr<LogManager> manager_;
  Future<void> reader_;
};

void LogWriter::run() {
  while (true) {
    absl::Status s = incarnation();
    reader_ = Future<void>();
    manager_.reset();
    closed_ends_.clear();
    ++stats_.restarts;
    if (ledger_->final_requested) ++state_.open_failures_in_a_row;
    state_.last_error = s.ToString();
    TraceEvent(Severity::kInfo, "LogWriterRestart").detail("Status", s.ToString());
    delay(std::chrono::milliseconds(log_writer_restart_delay_ms.get()) +
          from_seconds(ctx_.random->uniform01() * 0.1));
  }
}

absl::Status LogWriter::incarnation() {
  if (auto s = open_and_check(false); !s.ok()) return s;
  while (!ledger_->final_requested) {
    if (auto s = step(); !s.ok()) return s;
    delay(from_seconds(0.001 + ctx_.random->uniform01() * 0.009));
  }
  return finish();
}

absl::Status LogWriter::open_and_check(bool final_check) {
  generation_ = ++state_.generation;
  auto checkpoints = read_checkpoints();
  if (!checkpoints.ok()) return checkpoints.status();
  auto manager = LogManager::open(*ctx_.fs, *ctx_.clock, log_dirs(), config_);
  if (!manager.ok()) return manager.status();
  manager_ = std::shared_ptr<LogManager>(std::move(*manager));
  ++stats_.recoveries;
  for (int32_t p = 0; p < options_.partitions; ++p) {
    auto log = manager_->create(topic_partition(p));
    if (!log.ok()) return log.status();
    if (auto s = check_recovered(p, **log, *checkpoints, final_check); !s.ok()) return s;
  }
  if (auto s = checkpoint(); !s.ok()) return s;
  state_.open_failures_in_a_row = 0;
  start_reader();
  return absl::OkStatus();
}

// A corrupted read must not make the checker see a claim the file does not make: reads until
// two agree.
absl::StatusOr<std::string> LogWriter::read_stable(const std::string& path) {
  std::optional<std::string> previous;
  absl::Status error;
  for (int attempt = 0; attempt < kTransientRetries; ++attempt) {
    auto text = broker::log::read_text_file(*ctx_.fs, path, 1 << 20);
    if (absl::IsNotFound(text.status())) return text.status();
    if (!text.ok()) {
      error = text.status();
      delay(20ms);
      continue;
    }
    if (previous.has_value() && *previous == *text) return std::move(*text);
    previous = std::move(*text);
  }
  return error.ok() ? absl::UnavailableError(path + ": reads never agreed") : error;
}

absl::StatusOr<Checkpoints> LogWriter::read_checkpoints() {
  Checkpoints out;
  for (const std::string& dir : log_dirs()) {
    for (const char* name :
         {broker::log::kRecoveryPointCheckpointName, broker::log::kLogStartOffsetCheckpointName}) {
      const std::string path = absl::StrCat(dir, "/", name);
      auto text = read_stable(path);
      if (absl::IsNotFound(text.status())) continue;
      if (!text.ok()) return text.status();
      auto offsets = broker::log::decode_offset_checkpoint(*text);
      if (!offsets.ok()) {
        ledger_->violation(absl::StrCat(ctx_.name, ": checkpoint ", path,
                                        " is malformed on disk: ", offsets.status().message()));
        continue;
      }
      auto& into = name == std::string_view(broker::log::kRecoveryPointCheckpointName)
                       ? out.recovery_points
                       : out.log_starts;
      into.insert(offsets->begin(), offsets->end());
    }
  }
  return out;
}

// Every check of one recovered log, then the ledger adopts what recovery kept.
absl::Status LogWriter::check_recovered(int32_t p, PartitionLog& log,
                                        const Checkpoints& checkpoints, bool final_check) {
  const size_t violations_before = ledger_->violations.size();
  bool broken = false;
  auto present = check_prefix(p, log, broken);
  if (!present.ok()) return present.status();
  if (!broken) check_flushed(p, log);
  check_checkpoints(p, log, checkpoints);
  if (!closed_ends_.empty()) check_clean_reopen(p, log);
  if (!broken) {
    auto rp = checkpoints.recovery_points.find(topic_partition(p));
    const int64_t validated_from = rp == checkpoints.recovery_points.end() ? 0 : rp->second.value();
    if (auto s = check_lookups(p, log, *present, validated_from, final_check); !s.ok()) return s;
    check_epochs(p, log, *present);
  }
  const broker::log::RecoveryReport& report = log.recovery_report();
  auto claim = [&](const broker::log::OffsetCheckpoint& c) {
    auto it = c.find(topic_partition(p));
    return it == c.end() ? int64_t{-1} : it->second.value();
  };
  TraceEvent(Severity::kInfo, "LogDurabilityRecovered")
      .detail("Partition", p)
      .detail("CheckpointedRecoveryPoint", claim(checkpoints.recovery_points))
      .detail("CheckpointedLogStart", claim(checkpoints.log_starts))
      .detail("Generation", generation_)
      .detail("LogStart", log.log_start_offset().value())
      .detail("LogEnd", log.log_end_offset().value())
      .detail("Flushed", partition(p).flushed_end)
      .detail("Batches", present->size())
      .detail("SegmentsValidated", report.segments_validated)
      .detail("BytesCut", report.bytes_cut)
      .detail("Final", final_check)
      .detail("Violations", ledger_->violations.size() - violations_before);
  adopt_recovered(p, log);
  return absl::OkStatus();
}

// Invariants 1 and 4 on a recovered log: read from its start to its end, every batch is the
// one the ledger holds at its offset, contiguous.
absl::StatusOr<std::vector<Present>> LogWriter::check_prefix(int32_t p, PartitionLog& log,
                                                             bool& broken) {
  const Partition& m = partition(p);
  std::vector<Present> present;
  const int64_t end = log.log_end_offset().value();
  int64_t at = log.log_start_offset().value();
  while (at < end) {
    auto r = read_retrying(log, at, kCheckReadBytes);
    if (!r.ok() && (absl::IsDataLoss(r.status()) || absl::IsOutOfRange(r.status()))) {
      violation(p, absl::StrCat("the log holds bytes at offset ", at,
                                " that are not the batch appended there (read failed: ",
                                r.status().ToString(), ")"));
      broken = true;
      return present;
    }
    if (!r.ok()) return r.status();
    const size_t before = present.size();
    std::string what = verify_read(m, r->records, at, end, &present);
    if (what.empty() && present.size() == before) {
      what = absl::StrCat("a read at offset ", at, " returned nothing before the log end ", end);
    }
    if (!what.empty()) {
      violation(p, what);
      broken = true;
      return present;
    }
    at = present.back().last + 1;
  }
  if (at != end) {
    violation(p, absl::StrCat("the batches end at offset ", at, ", the log end offset is ", end));
    broken = true;
  }
  return present;
}

// Invariant 2: every batch acknowledged as flushed is still there, and the log start moved no
// further than calls asked.
void LogWriter::check_flushed(int32_t p, PartitionLog& log) {
  const Partition& m = partition(p);
  const int64_t end = log.log_end_offset().value();
  const int64_t log_start = log.log_start_offset().value();
  if (end < m.flushed_end) {
    violation(p,
              absl::StrCat("lost flushed batches: the recovered log ends at offset ", end,
                           " but everything below ", m.flushed_end, " was acknowledged flushed"));
  }
  if (log_start > m.log_start_bound) {
    violation(p, absl::StrCat("lost flushed batches: the log start offset moved to ", log_start,
                              ", beyond ", m.log_start_bound, " (the most any call asked for)"));
  }
  if (log.recovery_point() != log.log_end_offset()) {
    violation(p, absl::StrCat("after recovery the recovery point is ", log.recovery_point().value(),
                              ", not the log end offset ", end));
  }
}

// Invariant 5: the checkpoints read before the open never claim more than the log holds (nor
// anything no checkpoint ever wrote).
void LogWriter::check_checkpoints(int32_t p, PartitionLog& log, const Checkpoints& checkpoints) {
  const Partition& m = partition(p);
  const int64_t end = log.log_end_offset().value();
  const TopicPartition tp = topic_partition(p);
  if (auto it = checkpoints.recovery_points.find(tp); it != checkpoints.recovery_points.end()) {
    const int64_t claim = it->second.value();
    CODE_PROBE(claim > end && m.truncated_since_checkpoint,
               "log_durability.stale_recovery_point_after_truncation");
    if (claim > m.recovery_point_claim_max) {
      violation(p, absl::StrCat("the recovery-point checkpoint holds ", claim,
                                ", more than any recovery point written (",
                                m.recovery_point_claim_max, ")"));
    } else if (claim > end && !m.truncated_since_checkpoint) {
      violation(p, absl::StrCat("the recovery-point checkpoint claims offset ", claim,
                                " but the log holds only up to ", end));
    }
  }
  if (auto it = checkpoints.log_starts.find(tp); it != checkpoints.log_starts.end()) {
    const int64_t claim = it->second.value();
    if (claim > m.log_start_claim_max) {
      violation(p, absl::StrCat("the log-start checkpoint holds ", claim,
                                ", more than any log start written (", m.log_start_claim_max, ")"));
    } else if (claim > end) {
      violation(p, absl::StrCat("the log-start checkpoint claims offset ", claim,
                                " but the log holds only up to ", end));
    }
  }
}

// After a successful close, reopening must find exactly what was closed.
void LogWriter::check_clean_reopen(int32_t p, PartitionLog& log) {
  const broker::log::RecoveryReport& report = log.recovery_report();
  auto it = closed_ends_.find(p);
  if (it == closed_ends_.end()) return;
  if (log.log_end_offset().value() != it->second || report.bytes_cut > 0 ||
      report.segments_removed > 0) {
    violation(p, absl::StrCat("a clean close at log end ", it->second, " reopened at ",
                              log.log_end_offset().value(), " (", report.bytes_cut, " bytes cut, ",
                              report.segments_removed, " segments removed: ", report.reason, ")"));
  }
}

// Invariant 3 (offset and time indexes): reads from a batch's first and last offsets return
// it, offset_for_timestamp finds them. Checks the segments' first and last batches, the part
// recovery validated, the tail and a sample; every batch when `all`.
absl::Status LogWriter::check_lookups(int32_t p, PartitionLog& log,
                                      const std::vector<Present>& present, int64_t validated_from,
                                      bool all) {
  if (auto s = check_time_bounds(p, log, present); !s.ok()) return s;
  if (present.empty()) return absl::OkStatus();
  std::set<size_t> picks;
  const size_t n = present.size();
  if (all) {
    for (size_t i = 0; i < n; ++i) picks.insert(i);
  } else {
    auto index_of = [&](int64_t offset) {
      return static_cast<size_t>(
          std::lower_bound(present.begin(), present.end(), offset,
                           [](const Present& b, int64_t o) { return b.last < o; }) -
          present.begin());
    };
    for (Offset base : log.segment_base_offsets()) {
      const size_t i = index_of(base.value());
      if (i < n) picks.insert(i);
      if (i > 0) picks.insert(i - 1);
    }
    const size_t validated = index_of(validated_from);
    const size_t cap = static_cast<size_t>(options_.lookups_per_recovery) * 4;
    for (size_t i = validated; i < n && i < validated + cap; ++i) picks.insert(i);
    for (size_t i = n - std::min<size_t>(n, 4); i < n; ++i) picks.insert(i);
    for (int k = 0; k < options_.lookups_per_recovery; ++k) picks.insert(ctx_.random->below(n));
  }
  for (size_t i : picks) {
    if (auto s = check_batch_lookups(p, log, present[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LogWriter::check_batch_lookups(int32_t p, PartitionLog& log, const Present& batch) {
  const int64_t log_start = log.log_start_offset().value();
  for (int64_t offset : {std::max(batch.base, log_start), batch.last}) {
    auto r = read_retrying(log, offset, 1);  // min_one_batch: the whole batch holding `offset`
    if (!r.ok() && !absl::IsDataLoss(r.status()) && !absl::IsOutOfRange(r.status())) {
      return r.status();
    }
    auto h = r.ok() ? broker::log::parse_batch_header(r->records)
                    : absl::StatusOr<broker::log::BatchHeader>(r.status());
    if (!h.ok() || h->base_offset != batch.base) {
      violation(
          p, absl::StrCat(
                 "the offset index disagrees with the log: a read at offset ", offset, " returned ",
                 h.ok() ? absl::StrCat("the batch at ", h->base_offset) : h.status().ToString(),
                 " instead of the batch at ", batch.base));
      return absl::OkStatus();
    }
    const int64_t ts = log_durability_timestamp_ms(offset, batch.generation);
    auto t = retry_transient(log, [&] { return log.offset_for_timestamp(ts); });
    if (!t.ok() && !absl::IsDataLoss(t.status())) return t.status();
    if (!t.ok() || !t->has_value() || (*t)->value() != offset) {
      violation(p, absl::StrCat("the time index disagrees with the log: offset_for_timestamp(", ts,
                                ") returned ",
                                !t.ok()           ? t.status().ToString()
                                : !t->has_value() ? std::string("nothing")
                                                  : absl::StrCat((*t)->value()),
                                ", expected offset ", offset));
      return absl::OkStatus();
    }
    ++stats_.lookups_checked;
  }
  return absl::OkStatus();
}

// offset_for_timestamp before every record finds the log start; after every record, nothing.
absl::Status LogWriter::check_time_bounds(int32_t p, PartitionLog& log,
                                          const std::vector<Present>& present) {
  const int64_t end = log.log_end_offset().value();
  const std::optional<int64_t> want_first =
      present.empty() ? std::nullopt : std::optional<int64_t>(log.log_start_offset().value());
  for (auto [ts, want] :
       {std::pair{kTimestampBaseMs - 1, want_first},
        std::pair{log_durability_timestamp_ms(end, 0), std::optional<int64_t>()}}) {
    auto t = retry_transient(log, [&] { return log.offset_for_timestamp(ts); });
    if (!t.ok() && !absl::IsDataLoss(t.status())) return t.status();
    const std::optional<int64_t> got =
        t.ok() && t->has_value() ? std::optional<int64_t>((*t)->value()) : std::nullopt;
    if (!t.ok() || got != want) {
      violation(p, absl::StrCat("the time index disagrees with the log: offset_for_timestamp(", ts,
                                ") returned ", got.has_value() ? absl::StrCat(*got) : "nothing",
                                t.ok() ? "" : absl::StrCat(" (", t.status().ToString(), ")"),
                                ", expected ", want.has_value() ? absl::StrCat(*want) : "nothing"));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// Invariant 3 (leader epochs): the cache holds one entry per run of batches with the same
// partitionLeaderEpoch, starting where the run starts. The first entry may start later, and
// earlier runs may have no entry: a log start that a crash took back below a DeleteRecords
// leaves the cache truncated from the start further than the log.
void LogWriter::check_epochs(int32_t p, PartitionLog& log, const std::vector<Present>& present) {
  if (present.empty()) return;
  const int64_t log_start = log.log_start_offset().value();
  std::vector<LeaderEpochCache::Entry> runs;
  for (const Present& b : present) {
    const LeaderEpoch epoch(static_cast<int32_t>(b.generation));
    if (runs.empty() || runs.back().epoch != epoch) {
      runs.push_back({epoch, Offset(std::max(b.base, log_start))});
    }
  }
  const std::vector<LeaderEpochCache::Entry>& got = log.leader_epochs();
  size_t k = 0;
  while (k < runs.size() && !got.empty() && runs[k].epoch != got[0].epoch) ++k;
  bool ok = !got.empty() && k < runs.size() && got.size() == runs.size() - k;
  if (ok) {
    const Offset run_end = k + 1 < runs.size() ? runs[k + 1].start_offset : log.log_end_offset();
    ok = got[0].start_offset >= runs[k].start_offset && got[0].start_offset < run_end;
  }
  for (size_t i = 1; ok && i < got.size(); ++i) ok = got[i] == runs[k + i];
  CODE_PROBE(ok && (k > 0 || got[0] != runs[0]), "log_durability.epoch_cache_truncated_further");
  if (!ok) {
    violation(p, absl::StrCat("the leader epoch cache disagrees with the log: cache [",
                              describe(got), "], batches [", describe(runs), "]"));
  }
}

// The ledger forgets what recovery cut and takes the recovered log as its new truth.
void LogWriter::adopt_recovered(int32_t p, PartitionLog& log) {
  Partition& m = partition(p);
  const int64_t end = log.log_end_offset().value();
  auto from = m.batches.lower_bound(end);
  if (from != m.batches.begin() && std::prev(from)->second.last >= end) --from;
  const auto cut = static_cast<uint64_t>(std::distance(from, m.batches.end()));
  stats_.batches_cut += cut;
  CODE_PROBE(cut > 0, "log_durability.recovery_cut_batches");
  m.batches.erase(from, m.batches.end());
  m.flushed_end = log.recovery_point().value();
  m.log_start_bound = log.log_start_offset().value();
}

// A call succeeded: everything below the log's recovery point is acknowledged flushed.
void LogWriter::note_durable(int32_t p, PartitionLog& log) {
  Partition& m = partition(p);
  const int64_t rp = log.recovery_point().value();
  if (rp <= m.flushed_end) return;
  stats_.batches_flushed += static_cast<uint64_t>(
      std::distance(m.batches.lower_bound(m.flushed_end), m.batches.lower_bound(rp)));
  m.flushed_end = rp;
}

absl::Status LogWriter::step() {
  const int32_t p =
      static_cast<int32_t>(ctx_.random->below(static_cast<uint64_t>(options_.partitions)));
  PartitionLog* log = manager_->get(topic_partition(p));
  WEIR_ASSERT(log != nullptr);
  double x = ctx_.random->uniform01();
  if ((x -= options_.truncate_probability) < 0) return truncate(p, *log);
  if ((x -= options_.delete_records_probability) < 0) return delete_records(p, *log);
  if ((x -= options_.retention_probability) < 0) return retention(p, *log);
  if ((x -= options_.checkpoint_probability) < 0) {
    return ctx_.random->coinflip(0.5) ? checkpoint() : flush_due();
  }
  return append(p, *log);
}

absl::Status LogWriter::append(int32_t p, PartitionLog& log) {
  Partition& m = partition(p);
  const int64_t first = log.log_end_offset().value();
  m.batches.erase(m.batches.lower_bound(first), m.batches.end());  // nothing there: a no-op
  const int batches = 1 + static_cast<int>(ctx_.random->below(3));
  std::string records;
  int64_t next = first;
  for (int i = 0; i < batches; ++i) {
    const std::string bytes = make_log_durability_batch(p, next, generation_);
    const int64_t last = broker::log::parse_batch_header(bytes)->last().value();
    // Into the ledger before the call: the bytes may reach the disk and the call still fail.
    m.batches[next] = LogDurability::Batch{last, generation_, digest_of(bytes),
                                           static_cast<uint32_t>(bytes.size())};
    records += bytes;
    next = last + 1;
  }
  auto info = log.append(absl::MakeSpan(reinterpret_cast<uint8_t*>(records.data()), records.size()),
                         LeaderEpoch(static_cast<int32_t>(generation_)));
  if (!info.ok()) return info.status();
  if (info->first_offset.value() != first || info->last_offset.value() != next - 1) {
    violation(p, absl::StrCat("an append at log end ", first, " was given offsets ",
                              info->first_offset.value(), "..", info->last_offset.value()));
  }
  stats_.batches_appended += static_cast<uint64_t>(batches);
  stats_.bytes_appended += records.size();
  note_durable(p, log);
  // BUGGIFY: long unflushed runs, so that a crash has more to tear.
  const double p_flush = BUGGIFY ? options_.flush_probability / 10 : options_.flush_probability;
  if (ctx_.random->coinflip(p_flush)) {
    if (auto s = log.flush(); !s.ok()) return s;
    note_durable(p, log);
  }
  return absl::OkStatus();
}

// As a follower truncates to its leader's end: at a batch boundary at or above the log start,
// mostly near the tail. Kafka checkpoints the recovery points after a truncation.
absl::Status LogWriter::truncate(int32_t p, PartitionLog& log) {
  Partition& m = partition(p);
  auto from = m.batches.lower_bound(log.log_start_offset().value());
  auto to = m.batches.lower_bound(log.log_end_offset().value());
  const auto n = static_cast<uint64_t>(std::distance(from, to));
  if (n == 0) return absl::OkStatus();
  const uint64_t back = ctx_.random->coinflip(0.8) ? std::min<uint64_t>(n, 20) : n;
  const int64_t target =
      std::next(from, static_cast<int64_t>(n - 1 - ctx_.random->below(back)))->first;
  // Lowered before the call: whatever the outcome, nothing from the target on is promised.
  m.flushed_end = std::min(m.flushed_end, target);
  if (target < m.recovery_point_claim_max) m.truncated_since_checkpoint = true;
  if (auto s = log.truncate_to(Offset(target)); !s.ok()) return s;
  if (log.log_end_offset().value() != target) {
    violation(p, absl::StrCat("truncate_to(", target, ") left the log end offset at ",
                              log.log_end_offset().value()));
  }
  m.batches.erase(m.batches.lower_bound(target), m.batches.end());
  ++stats_.truncations;
  note_durable(p, log);
  return ctx_.random->coinflip(0.7) ? checkpoint() : absl::OkStatus();
}

// DeleteRecords below what is flushed (Kafka: below the high watermark).
absl::Status LogWriter::delete_records(int32_t p, PartitionLog& log) {
  Partition& m = partition(p);
  const int64_t log_start = log.log_start_offset().value();
  const int64_t high = std::min(m.flushed_end, log.log_end_offset().value());
  if (high <= log_start) return absl::OkStatus();
  const int64_t target = log_start + 1 + static_cast<int64_t>(ctx_.random->below(high - log_start));
  m.log_start_bound = std::max(m.log_start_bound, target);
  auto got = log.delete_records_before(Offset(target));
  if (!got.ok()) return got.status();
  if (got->value() != target || log.log_start_offset().value() != target) {
    violation(
        p, absl::StrCat("delete_records_before(", target, ") set the log start to ", got->value()));
  }
  ++stats_.records_deleted;
  return ctx_.random->coinflip(0.5) ? checkpoint() : absl::OkStatus();
}

// Retention on the batches' own clock (their timestamps), so retention.ms means offsets.
absl::Status LogWriter::retention(int32_t p, PartitionLog& log) {
  Partition& m = partition(p);
  const int64_t bound = m.log_start_bound;
  // May delete every segment but the active one, even if the call then fails.
  m.log_start_bound = std::max(bound, log.segment_base_offsets().back().value());
  auto s = log.apply_retention(log_durability_timestamp_ms(log.log_end_offset().value(), 0));
  if (!s.ok()) return s;
  m.log_start_bound = std::max(bound, log.log_start_offset().value());
  ++stats_.retention_runs;
  return ctx_.random->coinflip(0.5) ? checkpoint() : absl::OkStatus();
}

absl::Status LogWriter::checkpoint() {
  for (int32_t p = 0; p < options_.partitions; ++p) {
    Partition& m = partition(p);
    PartitionLog* log = manager_->get(topic_partition(p));
    m.recovery_point_claim_max =
        std::max(m.recovery_point_claim_max, log->recovery_point().value());
    m.log_start_claim_max = std::max(m.log_start_claim_max, log->log_start_offset().value());
  }
  if (auto s = manager_->checkpoint(); !s.ok()) return s;
  for (int32_t p = 0; p < options_.partitions; ++p) {
    Partition& m = partition(p);
    PartitionLog* log = manager_->get(topic_partition(p));
    m.recovery_point_claim_max = log->recovery_point().value();
    m.log_start_claim_max = log->log_start_offset().value();
    m.truncated_since_checkpoint = false;
  }
  return absl::OkStatus();
}

// LogManager's periodic flush (flush.ms) and checkpoint.
absl::Status LogWriter::flush_due() {
  for (int32_t p = 0; p < options_.partitions; ++p) {
    Partition& m = partition(p);
    PartitionLog* log = manager_->get(topic_partition(p));
    // The flush may take the recovery point up to the log end before the checkpoint.
    m.recovery_point_claim_max =
        std::max(m.recovery_point_claim_max, log->log_end_offset().value());
    m.log_start_claim_max = std::max(m.log_start_claim_max, log->log_start_offset().value());
  }
  if (auto s = manager_->flush_due(); !s.ok()) return s;
  for (int32_t p = 0; p < options_.partitions; ++p) {
    note_durable(p, *manager_->get(topic_partition(p)));
  }
  return checkpoint();
}

// The end of the run: close cleanly, reopen, and check everything once more with every batch
// looked up.
absl::Status LogWriter::finish() {
  reader_ = Future<void>();
  std::map<int32_t, int64_t> ends;
  for (int32_t p = 0; p < options_.partitions; ++p) {
    Partition& m = partition(p);
    PartitionLog* log = manager_->get(topic_partition(p));
    ends[p] = log->log_end_offset().value();
    m.recovery_point_claim_max = std::max(m.recovery_point_claim_max, ends[p]);
    m.log_start_claim_max = std::max(m.log_start_claim_max, log->log_start_offset().value());
  }
  if (auto s = manager_->close(); !s.ok()) return s;
  for (int32_t p = 0; p < options_.partitions; ++p) {
    Partition& m = partition(p);
    PartitionLog* log = manager_->get(topic_partition(p));
    note_durable(p, *log);
    m.recovery_point_claim_max = log->recovery_point().value();
    m.log_start_claim_max = log->log_start_offset().value();
    m.truncated_since_checkpoint = false;
  }
  manager_.reset();
  closed_ends_ = std::move(ends);
  if (auto s = open_and_check(true); !s.ok()) return s;
  state_.final_checked = true;
  TraceEvent(Severity::kInfo, "LogWriterFinalCheckDone").detail("Generation", generation_);
  while (true) delay(1s);
}

void LogWriter::start_reader() {
  ReaderContext c{ledger_, &state_, ctx_.name, ctx_.random, options_.partitions};
  reader_ = spawn("log_reader", [c, manager = manager_] {
    while (true) {
      delay(from_seconds(0.002 + c.random->uniform01() * 0.02));
      read_once(c, *manager);
    }
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Workload>> LogDurability::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.writers = static_cast<int>(o.get_int("writers", 3, 1, 32));
  options.partitions = static_cast<int>(o.get_int("partitions", 3, 1, 16));
  options.flush_probability = o.get_double("flush_probability", 0.1, 0.0, 1.0);
  options.truncate_probability = o.get_double("truncate_probability", 0.003, 0.0, 0.2);
  options.delete_records_probability = o.get_double("delete_records_probability", 0.003, 0.0, 0.2);
  options.retention_probability = o.get_double("retention_probability", 0.01, 0.0, 0.2);
  options.checkpoint_probability = o.get_double("checkpoint_probability", 0.05, 0.0, 0.2);
  options.lookups_per_recovery = static_cast<int>(o.get_int("lookups_per_recovery", 24, 0, 1000));
  const std::string bug = o.get_string("bug", "none");
  if (bug == "skip_crc") {
    options.bug = Bug::kSkipCrc;
  } else if (bug == "trust_index") {
    options.bug = Bug::kTrustIndex;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("LogDurability: unknown bug " + bug);
  }
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<LogDurability>(options));
}

LogDurability::LogDurability(Options options)
    : options_(options), ledger_(std::make_shared<Ledger>()) {}

absl::Status LogDurability::setup(ICluster& cluster) {
  // This seed's log settings: small segments and index intervals so that rolls, sparse index
  // lookups and retention happen within seconds; flush policies from never to every append.
  IRandom& r = cluster.random();
  config_.segment_bytes_max = r.uniform_int(4 << 10, 64 << 10);
  config_.index_interval_bytes = static_cast<int32_t>(r.uniform_int(64, 4096));
  if (r.coinflip(0.3)) config_.segment_ms = r.uniform_duration(500ms, 5s);
  if (r.coinflip(0.2)) config_.flush_interval_messages = r.uniform_int(1, 20);
  if (r.coinflip(0.3)) config_.flush_interval_ms = r.uniform_int(20, 1000);
  if (r.coinflip(0.4)) config_.retention_bytes = r.uniform_int(32 << 10, 1 << 20);
  config_.retention_ms = r.coinflip(0.4) ? 10 * r.uniform_int(200, 5000) : -1;
  config_.unsafe_skip_recovery_crc_check = options_.bug == Bug::kSkipCrc;
  config_.unsafe_trust_index = options_.bug == Bug::kTrustIndex;
  TraceEvent(Severity::kInfo, "LogDurabilityConfig")
      .detail("SegmentBytes", config_.segment_bytes_max)
      .detail("IndexIntervalBytes", config_.index_interval_bytes)
      .detail("SegmentMs", to_ms(config_.segment_ms))
      .detail("FlushMessages", config_.flush_interval_messages)
      .detail("FlushMs", config_.flush_interval_ms)
      .detail("RetentionBytes", config_.retention_bytes)
      .detail("RetentionMs", config_.retention_ms);
  RoleSpec role;
  role.name = "log";
  role.count = options_.writers;
  role.port = 0;
  role.boot = [options = options_, config = config_, ledger = ledger_](ProcessContext& ctx) {
    LogWriter(ctx, options, config, ledger).run();
  };
  return cluster.start_role(role).status();
}

void LogDurability::start(ICluster&) {
  // The writers are their own processes; the harness only waits for the fault phase to end.
}

Verdict LogDurability::check(ICluster&) {
  // Every writer closes its logs, reopens them and checks every batch.
  ledger_->final_requested = true;
  while (ledger_->violations.empty()) {
    bool all = ledger_->writers.size() == static_cast<size_t>(options_.writers);
    for (const auto& [name, w] : ledger_->writers) {
      if (w.open_failures_in_a_row >= kOpenFailuresMax) {
        return Verdict::liveness(
            absl::StrCat(name, " cannot reopen its logs after healing: ", w.last_error));
      }
      all = all && w.final_checked;
    }
    if (all) break;
    delay(50ms);
  }
  if (!ledger_->violations.empty()) return Verdict::correctness(ledger_->violations.front());
  return Verdict::pass();
}

std::map<std::string, double> LogDurability::metrics() const {
  const Stats& s = ledger_->stats;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  return {{"batches_appended", d(s.batches_appended)},
          {"bytes_appended", d(s.bytes_appended)},
          {"batches_flushed", d(s.batches_flushed)},
          {"batches_cut", d(s.batches_cut)},
          {"recoveries", d(s.recoveries)},
          {"restarts", d(s.restarts)},
          {"truncations", d(s.truncations)},
          {"delete_records", d(s.records_deleted)},
          {"retention_runs", d(s.retention_runs)},
          {"reads_checked", d(s.reads_checked)},
          {"read_batches_checked", d(s.read_batches_checked)},
          {"lookups_checked", d(s.lookups_checked)},
          {"read_errors", d(s.read_errors)}};
}

}  // namespace weir::workloads
