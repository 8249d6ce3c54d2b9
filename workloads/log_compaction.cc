#include "workloads/log_compaction.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/log/log_manager.h"
#include "broker/log/partition_log.h"
#include "broker/log/record_batch.h"
#include "broker/log/records.h"
#include "buggify/code_probe.h"
#include "runtime/future.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"

namespace weir::workloads {

using broker::LeaderEpoch;
using broker::Offset;
using broker::log::BatchView;
using broker::log::LogConfig;
using broker::log::LogManager;
using broker::log::PartitionLog;
using broker::log::TopicPartition;

namespace {

using namespace std::chrono_literals;

const TopicPartition kPartition{"compacted", 0};
constexpr uint64_t kOpenFailuresMax = 100;
constexpr int32_t kReadBytes = 64 << 10;
constexpr size_t kDecompressedBytesMax = 16 << 20;
constexpr size_t kSmallMapBytes = 6 * (4 + broker::log::OffsetMap::kEntryOverheadBytes);

using Record = LogCompaction::Record;

// What a recovered log holds, read whole: its records by offset, or why it cannot be read
// (an I/O error: not a violation) or is malformed (a violation).
struct Held {
  std::map<int64_t, Record> records;
  std::string malformed;
};

absl::StatusOr<Held> read_whole(PartitionLog& log) {
  Held out;
  const Offset end = log.log_end_offset();
  Offset at = log.log_start_offset();
  while (at < end) {
    auto r = log.read(at, kReadBytes, end, true);
    if (!r.ok()) return r.status();
    auto batches = broker::log::split_batches(r->records, SIZE_MAX);  // CRCs checked
    if (!batches.ok() || batches->empty()) {
      out.malformed = absl::StrCat("read at ", at.value(), ": ",
                                   batches.ok() ? "no batch" : batches.status().ToString());
      return out;
    }
    for (const BatchView& b : *batches) {
      if (b.header().base() != at) {
        out.malformed = absl::StrCat("batch at ", b.header().base_offset, " where ", at.value(),
                                     " was next: the batches are not contiguous");
        return out;
      }
      std::string storage;
      auto records = broker::log::read_records(b, storage, kDecompressedBytesMax);
      if (!records.ok()) {
        out.malformed = absl::StrCat("batch at ", at.value(), ": ", records.status().ToString());
        return out;
      }
      for (const broker::log::Record& rec : *records) {
        out.records[b.header().base_offset + rec.offset_delta] =
            Record{std::string(rec.key.value_or("")),
                   rec.value.has_value() ? std::optional<std::string>(std::string(*rec.value))
                                         : std::nullopt};
      }
      at = Offset(b.header().last().value() + 1);
    }
  }
  return out;
}

class CompactionWriter {
 public:
  CompactionWriter(ProcessContext& ctx, const LogCompaction::Options& options,
                   const LogConfig& config, std::shared_ptr<LogCompaction::Ledger> ledger)
      : ctx_(ctx),
        options_(options),
        config_(config),
        ledger_(std::move(ledger)),
        state_(ledger_->writers[ctx.name]),
        stats_(ledger_->stats) {}

  void run();

 private:
  void violation(const std::string& what) {
    ledger_->violation(absl::StrCat(ctx_.name, "/", kPartition.dir_name(), ": ", what));
  }
  absl::Status incarnation();
  absl::Status open_and_check();
  absl::Status check(PartitionLog& log);
  void check_records(const Held& held);
  void check_latest(const Held& held);
  absl::Status step();
  absl::Status append();
  absl::Status clean();
  absl::Status finish();
  void note_durable() {
    state_.flushed_end = std::max(state_.flushed_end, log_->recovery_point().value());
  }

  ProcessContext& ctx_;
  const LogCompaction::Options options_;
  const LogConfig config_;
  std::shared_ptr<LogCompaction::Ledger> ledger_;
  LogCompaction::Writer& state_;
  LogCompaction::Stats& stats_;
  std::unique_ptr<LogManager> manager_;
  PartitionLog* log_ = nullptr;
};

void CompactionWriter::run() {
  while (true) {
    absl::Status s = incarnation();
    log_ = nullptr;
    manager_.reset();
    ++stats_.restarts;
    if (ledger_->final_requested) ++state_.open_failures_in_a_row;
    state_.last_error = s.ToString();
    TraceEvent(Severity::kInfo, "CompactionWriterRestart").detail("Status", s.ToString());
    delay(50ms + from_seconds(ctx_.random->uniform01() * 0.1));
  }
}

absl::Status CompactionWriter::incarnation() {
  if (auto s = open_and_check(); !s.ok()) return s;
  while (!ledger_->final_requested) {
    if (auto s = step(); !s.ok()) return s;
    delay(from_seconds(0.001 + ctx_.random->uniform01() * 0.009));
  }
  return finish();
}

absl::Status CompactionWriter::open_and_check() {
  ++state_.generation;
  auto manager = LogManager::open(*ctx_.fs, *ctx_.clock, {ctx_.data_dir + "/logs"}, config_);
  if (!manager.ok()) return manager.status();
  manager_ = std::move(*manager);
  auto log = manager_->create(kPartition, config_);
  if (!log.ok()) return log.status();
  log_ = *log;
  ++stats_.recoveries;
  if (auto s = check(*log_); !s.ok()) return s;
  state_.open_failures_in_a_row = 0;
  return absl::OkStatus();
}

// (1)-(3) of the header, on a log just recovered.
absl::Status CompactionWriter::check(PartitionLog& log) {
  const int64_t end = log.log_end_offset().value();
  if (end < state_.flushed_end) {
    violation(absl::StrCat("recovered to ", end, ", below the flushed end ", state_.flushed_end));
  }
  // Offsets from the recovered end on may be appended again with other records.
  for (auto it = state_.appended.lower_bound(end); it != state_.appended.end();) {
    ++stats_.records_cut;
    it = state_.appended.erase(it);
  }
  state_.flushed_end = std::min(state_.flushed_end, end);
  auto held = read_whole(log);
  if (!held.ok()) return held.status();  // an I/O error: reopen and look again
  if (!held->malformed.empty()) {
    violation(held->malformed);
    return absl::OkStatus();
  }
  check_records(*held);
  check_latest(*held);
  note_durable();
  return absl::OkStatus();
}

void CompactionWriter::check_records(const Held& held) {
  for (const auto& [offset, r] : held.records) {
    auto it = state_.appended.find(offset);
    if (it == state_.appended.end() || it->second.key != r.key || it->second.value != r.value) {
      violation(absl::StrCat("offset ", offset, " holds key ", r.key, " with ",
                             r.value.has_value() ? "a value" : "a tombstone",
                             " that was never appended there"));
      return;
    }
  }
}

// Of every key, its latest record below the flushed end, or a later one of its key, is held
// (a latest tombstone may have gone).
void CompactionWriter::check_latest(const Held& held) {
  std::map<std::string, int64_t> latest_flushed;
  for (auto it = state_.appended.begin();
       it != state_.appended.end() && it->first < state_.flushed_end; ++it) {
    latest_flushed[it->second.key] = it->first;
  }
  std::map<std::string, int64_t> latest_held;
  for (const auto& [offset, r] : held.records) latest_held[r.key] = offset;
  for (const auto& [key, offset] : latest_flushed) {
    auto h = latest_held.find(key);
    if (h != latest_held.end() && h->second >= offset) continue;
    if (!state_.appended.at(offset).value.has_value()) continue;
    violation(absl::StrCat("the latest flushed record of ", key, " (offset ", offset,
                           ") is gone, and no later one of its key is held (latest held: ",
                           h == latest_held.end() ? int64_t{-1} : h->second, ")"));
    return;
  }
}

absl::Status CompactionWriter::step() {
  if (ctx_.random->coinflip(options_.clean_probability)) return clean();
  return append();
}

absl::Status CompactionWriter::append() {
  IRandom& r = *ctx_.random;
  const int n = static_cast<int>(1 + r.below(4));
  std::vector<broker::log::RecordInput> inputs;
  const int64_t base = log_->log_end_offset().value();
  for (int i = 0; i < n; ++i) {
    Record rec{absl::StrCat("k", r.below(static_cast<uint64_t>(options_.keys))), std::nullopt};
    if (!r.coinflip(options_.tombstone_probability))
      rec.value =
          absl::StrCat("g", state_.generation, "-", base + i, "-", std::string(r.below(80), 'v'));
    inputs.push_back({rec.key, rec.value, {}, ctx_.clock->wall_ms()});
    // In the model before the call: a failed append may still have reached the disk.
    state_.appended[base + i] = std::move(rec);
  }
  auto batch = broker::log::build_batch(
      inputs,
      broker::log::BatchOptions{.compression = r.coinflip(0.3) ? broker::log::Compression::kLz4
                                                               : broker::log::Compression::kNone});
  WEIR_ASSERT(batch.ok());
  auto info = log_->append(absl::MakeSpan(reinterpret_cast<uint8_t*>(batch->data()), batch->size()),
                           LeaderEpoch(static_cast<int32_t>(state_.generation)));
  if (!info.ok()) return info.status();
  WEIR_ASSERT(info->first_offset.value() == base);
  stats_.records_appended += static_cast<uint64_t>(n);
  if (r.coinflip(options_.flush_probability)) {
    if (auto s = log_->flush(); !s.ok()) return s;
  }
  note_durable();
  return absl::OkStatus();
}

absl::Status CompactionWriter::clean() {
  // One replica: everything appended is committed.
  log_->set_high_watermark(log_->log_end_offset());
  const size_t budget = ctx_.random->coinflip(0.3) ? kSmallMapBytes : size_t{1} << 20;
  auto pass = manager_->clean_one(ctx_.clock->wall_ms(), budget);
  if (!pass.ok()) return pass.status();
  if (pass->has_value()) {
    ++stats_.cleaner_passes;
    const broker::log::CleanStats& s = (*pass)->report.stats;
    stats_.records_removed += static_cast<uint64_t>(s.records_read - s.records_kept);
  }
  note_durable();
  return absl::OkStatus();
}

// A clean close, a reopen, and the checks once more.
absl::Status CompactionWriter::finish() {
  if (auto s = manager_->close(); !s.ok()) return s;
  log_ = nullptr;
  manager_.reset();
  if (auto s = open_and_check(); !s.ok()) return s;
  state_.final_checked = true;
  while (true) delay(3600s);  // the harness ends the run
}

}  // namespace

void LogCompaction::Ledger::violation(std::string what) {
  TraceEvent(Severity::kWarnAlways, "LogCompactionViolation").detail("What", what);
  if (violations.size() < 100) violations.push_back(std::move(what));
}

absl::StatusOr<std::unique_ptr<Workload>> LogCompaction::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.writers = static_cast<int>(o.get_int("writers", 2, 1, 16));
  options.keys = static_cast<int>(o.get_int("keys", 16, 1, 10000));
  options.flush_probability = o.get_double("flush_probability", 0.05, 0.0, 1.0);
  options.clean_probability = o.get_double("clean_probability", 0.05, 0.0, 1.0);
  options.tombstone_probability = o.get_double("tombstone_probability", 0.08, 0.0, 1.0);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "cleaner_drops_latest") {
    options.bug_drops_latest = true;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("LogCompaction: unknown bug " + bug);
  }
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<LogCompaction>(options));
}

LogCompaction::LogCompaction(Options options)
    : options_(options), ledger_(std::make_shared<Ledger>()) {}

absl::Status LogCompaction::setup(ICluster& cluster) {
  // Small segments so that rolls, cleaning passes and swaps happen many times a second; a
  // tombstone retention from "at once" to longer than the run.
  IRandom& r = cluster.random();
  config_.compact = true;
  config_.delete_policy = false;
  config_.segment_bytes_max = r.uniform_int(512, 8 << 10);
  config_.index_interval_bytes = static_cast<int32_t>(r.uniform_int(64, 1024));
  config_.delete_retention_ms = r.coinflip(0.5) ? 0 : r.uniform_int(1, 30'000);
  config_.min_cleanable_dirty_ratio = r.coinflip(0.5) ? 0.01 : 0.5;
  if (r.coinflip(0.2)) config_.flush_interval_messages = r.uniform_int(1, 20);
  config_.unsafe_cleaner_drops_latest = options_.bug_drops_latest;
  TraceEvent(Severity::kInfo, "LogCompactionConfig")
      .detail("SegmentBytes", config_.segment_bytes_max)
      .detail("IndexIntervalBytes", config_.index_interval_bytes)
      .detail("DeleteRetentionMs", config_.delete_retention_ms)
      .detail("MinCleanableRatio", config_.min_cleanable_dirty_ratio)
      .detail("FlushMessages", config_.flush_interval_messages);
  RoleSpec role;
  role.name = "cleaner";
  role.count = options_.writers;
  role.port = 0;
  role.boot = [options = options_, config = config_, ledger = ledger_](ProcessContext& ctx) {
    CompactionWriter(ctx, options, config, ledger).run();
  };
  return cluster.start_role(role).status();
}

void LogCompaction::start(ICluster&) {}

Verdict LogCompaction::check(ICluster&) {
  ledger_->final_requested = true;
  while (ledger_->violations.empty()) {
    bool all = ledger_->writers.size() == static_cast<size_t>(options_.writers);
    for (const auto& [name, w] : ledger_->writers) {
      if (w.open_failures_in_a_row >= kOpenFailuresMax) {
        return Verdict::liveness(
            absl::StrCat(name, " cannot reopen its log after healing: ", w.last_error));
      }
      all = all && w.final_checked;
    }
    if (all) break;
    delay(50ms);
  }
  if (!ledger_->violations.empty()) return Verdict::correctness(ledger_->violations.front());
  if (ledger_->stats.cleaner_passes == 0) return Verdict::liveness("no cleaner pass ran");
  return Verdict::pass();
}

std::map<std::string, double> LogCompaction::metrics() const {
  const Stats& s = ledger_->stats;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  return {{"records_appended", d(s.records_appended)},
          {"cleaner_passes", d(s.cleaner_passes)},
          {"records_removed", d(s.records_removed)},
          {"recoveries", d(s.recoveries)},
          {"restarts", d(s.restarts)},
          {"records_cut", d(s.records_cut)}};
}

}  // namespace weir::workloads
