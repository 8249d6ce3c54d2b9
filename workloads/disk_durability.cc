#include "workloads/disk_durability.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "buggify/buggify.h"
#include "buggify/code_probe.h"
#include "buggify/knobs.h"
#include "runtime/crc32c.h"
#include "runtime/future.h"
#include "runtime/hash.h"
#include "runtime/trace.h"
#include "runtime/workload_options.h"

namespace weir::workloads {
namespace {

// How long a writer waits before recovering again after an I/O error.
Knob disk_writer_restart_delay_ms("disk_writer_restart_delay_ms", 50, 1, 2000);

constexpr size_t kHeaderBytes = 16;
constexpr int kRereadsOnBadRecord = 8;  // corrupted reads are transient; torn data is not

void put_u32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
void put_u64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The payload of record `seq` is a pure function of (writer, seq): the checker can tell
// written bytes from invented ones without storing them.
void fill_payload(const std::string& writer, uint64_t seq, uint8_t* out, size_t n) {
  uint64_t h = hash_combine(hash_bytes(0xd15c, writer), seq);
  for (size_t i = 0; i < n; ++i) {
    if (i % 8 == 0) h = mix64(h + i);
    out[i] = static_cast<uint8_t>(h >> (8 * (i % 8)));
  }
}

size_t payload_size(const std::string& writer, uint64_t seq, size_t max) {
  return 1 + mix64(hash_combine(hash_bytes(0x5123, writer), seq)) % max;
}

}  // namespace

std::vector<uint8_t> encode_durability_record(const std::string& writer, uint64_t seq,
                                              size_t payload_bytes) {
  std::vector<uint8_t> rec(kHeaderBytes + payload_bytes);
  put_u32(rec.data() + 4, static_cast<uint32_t>(payload_bytes));
  put_u64(rec.data() + 8, seq);
  fill_payload(writer, seq, rec.data() + kHeaderBytes, payload_bytes);
  put_u32(rec.data(), crc32c(rec.data() + 4, rec.size() - 4));
  return rec;
}

void DiskDurability::Ledger::violation(std::string what) {
  TraceEvent(Severity::kWarnAlways, "DiskDurabilityViolation").detail("What", what);
  if (violations.size() < 100) violations.push_back(std::move(what));
}

namespace {

// One incarnation of a writer process.
class WriterProcess {
 public:
  WriterProcess(ProcessContext& ctx, DiskDurability::Options options,
                std::shared_ptr<DiskDurability::Ledger> ledger)
      : ctx_(ctx),
        options_(options),
        ledger_(std::move(ledger)),
        state_(ledger_->writers[ctx.name]) {}

  void run() {
    ++state_.recoveries;
    while (true) {
      absl::Status s = recover();
      if (s.ok()) s = write_loop();
      ++state_.write_errors;
      TraceEvent(Severity::kInfo, "DiskWriterRestart").detail("Status", s.ToString());
      file_.reset();
      CODE_PROBE(true, "disk_durability.writer_restarted_after_error");
      delay(std::chrono::milliseconds(disk_writer_restart_delay_ms.get()) +
            from_seconds(ctx_.random->uniform01() * 0.2));
    }
  }

 private:
  std::string path() const { return ctx_.data_dir + "/log"; }

  absl::Status open_file() {
    if (auto s = ctx_.fs->create_directories(ctx_.data_dir); !s.ok()) return s;
    auto f = ctx_.fs->open(path(), OpenMode::kCreate);
    if (!f.ok()) return f.status();
    file_ = std::move(*f);
    // The file's name must be durable too, or a power loss forgets the whole file.
    if (auto s = ctx_.fs->sync_directory(ctx_.data_dir); !s.ok()) return s;
    return ctx_.fs->sync_directory("/data");
  }

  // Reads the record at `offset`; returns its length, or 0 if there is no valid record there.
  absl::StatusOr<size_t> read_record(uint64_t offset, uint64_t file_size, uint64_t expect_seq) {
    uint8_t header[kHeaderBytes];
    if (file_size - offset < kHeaderBytes) return size_t{0};
    for (int attempt = 0; attempt < kRereadsOnBadRecord; ++attempt) {
      auto n = file_->read(offset, absl::MakeSpan(header, kHeaderBytes));
      if (!n.ok()) return n.status();
      const uint32_t len = get_u32(header + 4);
      if (*n < kHeaderBytes || len == 0 || len > static_cast<uint32_t>(options_.record_bytes_max) ||
          file_size - offset < kHeaderBytes + len) {
        CODE_PROBE(attempt > 0, "disk_durability.reread_bad_header");
        continue;  // maybe a corrupted read: try again before calling it a torn tail
      }
      record_.resize(kHeaderBytes + len);
      auto m = file_->read(offset, absl::MakeSpan(record_));
      if (!m.ok()) return m.status();
      if (*m != record_.size()) continue;
      const bool crc_ok = crc32c(record_.data() + 4, record_.size() - 4) == get_u32(record_.data());
      CODE_PROBE(!crc_ok, "disk_durability.crc_mismatch");
      CODE_PROBE(crc_ok && attempt > 0, "disk_durability.reread_cured_corrupt_read");
      if (!crc_ok && options_.bug != DiskDurability::Bug::kSkipCrc) continue;
      verify_content(expect_seq);
      return record_.size();
    }
    return size_t{0};
  }

  // A record that passed its CRC must be exactly what was written for its sequence.
  void verify_content(uint64_t expect_seq) {
    const uint64_t seq = get_u64(record_.data() + 8);
    const size_t len = record_.size() - kHeaderBytes;
    const auto expected = encode_durability_record(ctx_.name, expect_seq, len);
    if (seq != expect_seq || expected != record_) {
      ledger_->violation(absl::StrCat(ctx_.name, ": record at seq ", expect_seq,
                                      " holds bytes that were never written (found seq ", seq,
                                      ")"));
    }
  }

  absl::Status recover() {
    if (auto s = open_file(); !s.ok()) return s;
    auto size = file_->size();
    if (!size.ok()) return size.status();
    uint64_t offset = 0;
    uint64_t seq = 0;
    recovered_.clear();
    while (true) {
      auto n = read_record(offset, *size, seq + 1);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      recovered_.insert(recovered_.end(), record_.begin(), record_.end());
      offset += *n;
      ++seq;
    }
    if (offset < *size) ++state_.torn_tails;
    CODE_PROBE(offset < *size, "disk_durability.torn_tail_cut");
    CODE_PROBE(seq > 0 && seq == state_.synced_max, "disk_durability.recovered_exactly_synced");
    CODE_PROBE(seq > state_.synced_max, "disk_durability.recovered_unsynced_records");
    if (seq < state_.synced_max) {
      ledger_->violation(absl::StrCat(ctx_.name, ": lost synced records: recovered up to seq ", seq,
                                      " but seq ", state_.synced_max, " was acknowledged durable"));
    }
    TraceEvent(Severity::kInfo, "DiskWriterRecovered")
        .detail("Seq", seq)
        .detail("SyncedMax", state_.synced_max)
        .detail("Bytes", offset)
        .detail("FileBytes", *size);
    // What we read came from the page cache, which may still show pages that a failed fsync
    // (of this incarnation or an earlier one in the same boot) dropped: no later fsync writes
    // those, so syncing alone would not make the records durable. Writing the checked bytes
    // back dirties every page they span, so the sync below covers all of them.
    if (!recovered_.empty()) {
      if (auto s = file_->write(0, recovered_); !s.ok()) return s;
    }
    // Cut the torn tail so new records follow the last good one, and make that durable.
    if (auto s = file_->truncate(offset); !s.ok()) return s;
    if (auto s = file_->sync(); !s.ok()) return s;
    ++state_.syncs;
    next_seq_ = seq + 1;
    offset_ = offset;
    state_.synced_max = std::max(state_.synced_max, seq);
    state_.appended_max = seq;
    return absl::OkStatus();
  }

  absl::Status write_loop() {
    while (true) {
      if (offset_ >= static_cast<uint64_t>(options_.file_bytes_max)) {
        // Full: keep proving the disk works without growing the file.
        if (auto s = file_->sync(); !s.ok()) return s;
        ++state_.syncs;
        delay(100ms);
        continue;
      }
      const uint64_t seq = next_seq_;
      auto rec = encode_durability_record(
          ctx_.name, seq,
          payload_size(ctx_.name, seq, static_cast<size_t>(options_.record_bytes_max)));
      if (auto s = file_->write(offset_, rec); !s.ok()) return s;
      offset_ += rec.size();
      ++next_seq_;
      state_.appended_max = seq;
      // BUGGIFY: long unsynced runs, so that a crash has more to tear.
      const double p_sync = BUGGIFY ? options_.sync_probability / 10 : options_.sync_probability;
      if (ctx_.random->coinflip(p_sync)) {
        if (options_.bug == DiskDurability::Bug::kAckBeforeSync) {
          state_.synced_max = seq;  // the bug: acknowledged, never synced
        } else {
          if (auto s = file_->sync(); !s.ok()) return s;
          ++state_.syncs;
          state_.synced_max = seq;
        }
      }
      delay(from_seconds(0.001 + ctx_.random->uniform01() * 0.01));
    }
  }

  ProcessContext& ctx_;
  DiskDurability::Options options_;
  std::shared_ptr<DiskDurability::Ledger> ledger_;
  DiskDurability::Writer& state_;
  std::unique_ptr<IFile> file_;
  std::vector<uint8_t> record_;
  std::vector<uint8_t> recovered_;  // the valid prefix, as checked by recover()
  uint64_t next_seq_ = 1;
  uint64_t offset_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Workload>> DiskDurability::create(
    std::map<std::string, std::string> raw) {
  WorkloadOptions o(std::move(raw));
  Options options;
  options.writers = static_cast<int>(o.get_int("writers", 3, 1, 32));
  options.record_bytes_max = static_cast<int>(o.get_int("record_bytes_max", 256, 1, 1 << 16));
  options.sync_probability = o.get_double("sync_probability", 0.3, 0.0, 1.0);
  options.file_bytes_max = o.get_int("file_bytes_max", 2 << 20, 1 << 10, 64 << 20);
  const std::string bug = o.get_string("bug", "none");
  if (bug == "ack_before_sync") {
    options.bug = Bug::kAckBeforeSync;
  } else if (bug == "skip_crc") {
    options.bug = Bug::kSkipCrc;
  } else if (bug != "none") {
    return absl::InvalidArgumentError("DiskDurability: unknown bug " + bug);
  }
  if (auto s = o.finish(); !s.ok()) return s;
  return std::unique_ptr<Workload>(std::make_unique<DiskDurability>(options));
}

DiskDurability::DiskDurability(Options options)
    : options_(options), ledger_(std::make_shared<Ledger>()) {}

absl::Status DiskDurability::setup(ICluster& cluster) {
  RoleSpec role;
  role.name = "disk";
  role.count = options_.writers;
  role.port = 0;
  role.boot = [options = options_, ledger = ledger_](ProcessContext& ctx) {
    WriterProcess(ctx, options, ledger).run();
  };
  return cluster.start_role(role).status();
}

void DiskDurability::start(ICluster&) {
  // The writers are their own processes; the harness only waits for the fault phase to end.
}

Verdict DiskDurability::check(ICluster&) {
  for (auto& [name, w] : ledger_->writers) w.syncs_at_stop = w.syncs;
  // Liveness: after healing, every writer must make new data durable again.
  while (ledger_->violations.empty()) {
    bool all = true;
    for (auto& [name, w] : ledger_->writers) {
      all = all && w.syncs > w.syncs_at_stop;
    }
    if (all) break;
    delay(50ms);
  }
  if (!ledger_->violations.empty()) return Verdict::correctness(ledger_->violations.front());
  return Verdict::pass();
}

std::map<std::string, double> DiskDurability::metrics() const {
  double synced = 0, recoveries = 0, torn = 0, errors = 0;
  for (const auto& [name, w] : ledger_->writers) {
    synced += static_cast<double>(w.synced_max);
    recoveries += static_cast<double>(w.recoveries);
    torn += static_cast<double>(w.torn_tails);
    errors += static_cast<double>(w.write_errors);
  }
  return {{"synced_records", synced},
          {"recoveries", recoveries},
          {"torn_tails", torn},
          {"write_errors", errors}};
}

}  // namespace weir::workloads
