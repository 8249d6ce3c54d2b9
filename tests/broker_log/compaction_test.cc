// Log compaction (cleanup.policy=compact) on the simulated disk: the latest record of each key
// survives and nothing else older does, tombstones after delete.retention.ms, compressed and
// idempotent batches, leader epochs, the high watermark bound, a full offset map, the swap
// across power losses, replication of a cleaned range, and the LogManager's checkpoint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/log/compaction.h"
#include "broker/log/log_manager.h"
#include "broker/log/partition_log.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::log {
namespace {

using namespace std::chrono_literals;
using test::append_bytes;
using test::DiskHarness;
using test::read_all;

constexpr char kDir[] = "/data/compacted-0";
constexpr int64_t kNowMs = 1'700'000'000'000;

LogConfig compact_config() {
  LogConfig c;
  c.segment_bytes_max = 1200;
  c.index_interval_bytes = 150;
  c.compact = true;
  c.delete_policy = false;
  return c;
}

std::unique_ptr<PartitionLog> open_log(DiskHarness& h, const LogConfig& c,
                                       Offset recovery_point = Offset(0)) {
  auto log = PartitionLog::open(h.disk(), h.clock(), kDir, c, recovery_point);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

struct KeyedRecord {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

struct BatchSpec {
  std::vector<KeyedRecord> records;
  Compression codec = Compression::kNone;
  int64_t producer_id = -1;
  int32_t base_sequence = -1;
  int64_t timestamp_ms = kNowMs;
};

std::string build(const BatchSpec& spec) {
  std::vector<RecordInput> in;
  for (const KeyedRecord& r : spec.records)
    in.push_back(RecordInput{.key = r.key, .value = r.value, .timestamp_ms = spec.timestamp_ms});
  auto b = build_batch(
      in, BatchOptions{.compression = spec.codec,
                       .producer_id = spec.producer_id,
                       .producer_epoch = spec.producer_id >= 0 ? int16_t{0} : int16_t{-1},
                       .base_sequence = spec.base_sequence});
  EXPECT_TRUE(b.ok()) << b.status();
  return *b;
}

// What the log holds, by offset, and whether its batches are contiguous from start to end.
struct Contents {
  std::map<int64_t, KeyedRecord> records;
  std::vector<BatchHeader> batches;
  std::string defect;  // empty when the batches cover [start, end) without gap or overlap
};

Contents contents(PartitionLog& log) {
  Contents out;
  int64_t next = log.log_start_offset().value();
  for (const std::string& bytes : read_all(log)) {
    auto view = BatchView::parse(bytes);
    if (!view.ok()) {
      out.defect = std::string(view.status().message());
      return out;
    }
    const BatchHeader& h = view->header();
    if (h.base_offset != next && out.defect.empty())
      out.defect =
          "batch at " + std::to_string(h.base_offset) + ", expected " + std::to_string(next);
    next = h.last().value() + 1;
    out.batches.push_back(h);
    std::string storage;
    auto records = read_records(*view, storage, 1 << 24);
    EXPECT_TRUE(records.ok()) << records.status();
    if (!records.ok()) continue;
    for (const Record& r : *records) {
      const int64_t offset = h.base_offset + r.offset_delta;
      if (offset > h.last().value()) out.defect = "record beyond its batch's last offset";
      out.records[offset] = KeyedRecord{
          std::string(r.key.value_or("")),
          r.value.has_value() ? std::optional<std::string>(std::string(*r.value)) : std::nullopt};
    }
  }
  if (next != log.log_end_offset().value() && out.defect.empty()) out.defect = "short of the end";
  return out;
}

// Appends `batches` and returns every record by the offset it got.
std::map<int64_t, KeyedRecord> append_all(PartitionLog& log, const std::vector<BatchSpec>& batches,
                                          LeaderEpoch epoch = LeaderEpoch(0)) {
  std::map<int64_t, KeyedRecord> out;
  for (const BatchSpec& spec : batches) {
    std::string bytes = build(spec);
    auto info = append_bytes(log, bytes, epoch);
    EXPECT_TRUE(info.ok()) << info.status();
    if (!info.ok()) continue;
    for (size_t i = 0; i < spec.records.size(); ++i)
      out[info->first_offset.value() + static_cast<int64_t>(i)] = spec.records[i];
  }
  return out;
}

// The model's verdict on a compacted log: every record it holds is the one appended at its
// offset; every key's latest record below `cleaned_end` is there unless it is a tombstone that
// was allowed to go; every record at or beyond `cleaned_end` is there.
std::string check_compacted(const Contents& got, const std::map<int64_t, KeyedRecord>& appended,
                            int64_t cleaned_end, bool tombstones_may_go) {
  if (!got.defect.empty()) return got.defect;
  std::map<std::string, int64_t> latest;
  for (const auto& [offset, r] : appended)
    if (offset < cleaned_end) latest[r.key] = offset;
  for (const auto& [offset, r] : got.records) {
    auto it = appended.find(offset);
    if (it == appended.end() || it->second.key != r.key || it->second.value != r.value)
      return "offset " + std::to_string(offset) + " holds a record not appended there";
    if (offset < cleaned_end && latest.at(r.key) != offset)
      return "offset " + std::to_string(offset) + " is superseded by " +
             std::to_string(latest.at(r.key)) + " yet kept";
  }
  for (const auto& [key, offset] : latest) {
    const bool tombstone = !appended.at(offset).value.has_value();
    if (got.records.count(offset) == 0 && !(tombstone && tombstones_may_go))
      return "the latest record of " + key + " (offset " + std::to_string(offset) + ") is gone";
  }
  for (const auto& [offset, r] : appended) {
    if (offset >= cleaned_end && got.records.count(offset) == 0)
      return "offset " + std::to_string(offset) + " beyond the cleaned range is gone";
  }
  return "";
}

// What holds whatever a pass did or did not reach: contiguous batches, only records appended
// at their offsets, and every key's latest record.
std::string check_safe(const Contents& got, const std::map<int64_t, KeyedRecord>& appended) {
  if (!got.defect.empty()) return got.defect;
  for (const auto& [offset, r] : got.records) {
    auto it = appended.find(offset);
    if (it == appended.end() || it->second.key != r.key || it->second.value != r.value)
      return "offset " + std::to_string(offset) + " holds a record not appended there";
  }
  std::map<std::string, int64_t> latest;
  for (const auto& [offset, r] : appended) latest[r.key] = offset;
  for (const auto& [key, offset] : latest) {
    if (got.records.count(offset) == 0)
      return "the latest record of " + key + " (offset " + std::to_string(offset) + ") is gone";
  }
  return "";
}

std::vector<BatchSpec> rounds_of_keys(int rounds, int keys, int per_batch, uint64_t tag = 0) {
  std::vector<BatchSpec> out;
  int n = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < keys; k += per_batch) {
      BatchSpec b;
      for (int j = k; j < std::min(keys, k + per_batch); ++j)
        b.records.push_back({"key-" + std::to_string(j),
                             "value-" + std::to_string(tag) + "-" + std::to_string(n++)});
      out.push_back(std::move(b));
    }
  }
  return out;
}

CompactionReport compact_now(PartitionLog& log, Offset first_dirty = Offset(0),
                             size_t map_bytes = 1 << 20, int64_t now_ms = kNowMs) {
  log.set_high_watermark(log.log_end_offset());
  auto report = log.compact(CleanerOptions{
      .first_dirty = first_dirty, .offset_map_bytes_max = map_bytes, .now_ms = now_ms});
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : CompactionReport{};
}

TEST(Compaction, KeepsOnlyTheLatestRecordOfEachKey) {
  DiskHarness h(1);
  h.run([&] {
    auto log = open_log(h, compact_config());
    // Rounds of the same eight keys, each followed by a key of its own that stays.
    std::vector<BatchSpec> batches;
    for (int round = 0; round < 24; ++round) {
      for (BatchSpec& b : rounds_of_keys(1, 8, 2, static_cast<uint64_t>(round)))
        batches.push_back(std::move(b));
      batches.push_back({.records = {{"once-" + std::to_string(round), "v"}}});
    }
    auto appended = append_all(*log, std::vector<BatchSpec>(batches.begin(), batches.begin() + 60));
    Offset active_base = log->segment_base_offsets().back();
    CompactionReport report = compact_now(*log);
    EXPECT_EQ(report.first_dirty, active_base);
    EXPECT_GT(report.groups_rewritten, 0);
    EXPECT_LT(report.bytes_after, report.bytes_before / 2);
    // The next pass merges what the first left small into fewer segments.
    for (auto& [o, r] :
         append_all(*log, std::vector<BatchSpec>(batches.begin() + 60, batches.end())))
      appended[o] = r;
    const size_t segments = log->segment_count();
    active_base = log->segment_base_offsets().back();
    report = compact_now(*log, report.first_dirty);
    EXPECT_EQ(report.first_dirty, active_base);
    EXPECT_LT(log->segment_count(), segments);
    EXPECT_GT(report.segments_before, report.segments_after);
    const Contents got = contents(*log);
    EXPECT_EQ(check_compacted(got, appended, active_base.value(), false), "");
    // Superseded batches were absorbed into the batch before them, not left as empty batches.
    EXPECT_GT(report.stats.gaps_absorbed, 0);
    // A fetch from any offset, kept or removed, starts at the batch covering it.
    for (int64_t at = 0; at < log->log_end_offset().value(); ++at) {
      auto r = log->read(Offset(at), 1 << 16, log->log_end_offset(), true);
      ASSERT_TRUE(r.ok()) << r.status();
      auto batches = split_batches(r->records, SIZE_MAX);
      ASSERT_TRUE(batches.ok()) << batches.status();
      const BatchHeader& first = batches->front().header();
      EXPECT_LE(first.base_offset, at);
      EXPECT_GE(first.last().value(), at);
    }
    // A consumer's read passes over empty batches: it begins at a batch holding records.
    const Contents all = contents(*log);
    for (int64_t at = 0; at < log->log_end_offset().value(); ++at) {
      auto r = log->read(Offset(at), 1 << 16, log->log_end_offset(), true, ReadMode::kCopy,
                         /*skip_empty_batches=*/true);
      ASSERT_TRUE(r.ok()) << r.status();
      auto next_record = all.records.lower_bound(at);
      if (next_record == all.records.end()) {
        EXPECT_TRUE(r->records.empty());
        continue;
      }
      auto first = parse_batch_header(r->records);
      ASSERT_TRUE(first.ok()) << "at " << at;
      EXPECT_GT(first->record_count, 0) << "at " << at;
      EXPECT_LE(first->base_offset, next_record->first) << "at " << at << ": a record skipped";
      EXPECT_GE(first->last().value(), at) << "at " << at;
    }
    // A second pass finds nothing dirty; a reopen trusts the cleaned segments as they are.
    EXPECT_EQ(compact_now(*log, report.first_dirty).groups_rewritten, 0);
    const Offset end = log->log_end_offset();
    ASSERT_TRUE(log->close().ok());
    log = open_log(h, compact_config(), end);
    EXPECT_EQ(log->recovery_report().bytes_cut, 0u);
    EXPECT_EQ(log->recovery_report().index_rebuilds, 0);
    EXPECT_EQ(check_compacted(contents(*log), appended, active_base.value(), false), "");
    // And a full validation of every segment accepts them too.
    ASSERT_TRUE(log->close().ok());
    log = open_log(h, compact_config(), Offset(0));
    EXPECT_EQ(log->recovery_report().bytes_cut, 0u);
    EXPECT_EQ(log->recovery_report().segments_removed, 0);
    EXPECT_EQ(check_compacted(contents(*log), appended, active_base.value(), false), "");
  });
}

// The checker can fail: the broken cleaner that drops a key's latest record is caught, with
// the reason naming what went.
TEST(Compaction, TheBrokenCleanerThatDropsLatestRecordsIsCaught) {
  DiskHarness h(11);
  h.run([&] {
    LogConfig c = compact_config();
    c.unsafe_cleaner_drops_latest = true;
    auto log = open_log(h, c);
    const auto appended = append_all(*log, rounds_of_keys(12, 8, 2));
    const int64_t active_base = log->segment_base_offsets().back().value();
    compact_now(*log);
    const Contents got = contents(*log);
    EXPECT_EQ(got.defect, "") << "still contiguous: only the rule is broken";
    EXPECT_THAT(check_compacted(got, appended, active_base, false),
                ::testing::HasSubstr("is gone"));
  });
}

// A baseOffset is outside the CRC: one damaged on the disk makes the sealed segment's batches
// stop being contiguous, which the rewrite reports as DataLoss rather than an assertion.
TEST(Compaction, TheRewriteRefusesNonContiguousBatchesAsDataLoss) {
  OffsetMap map(1 << 20);
  std::vector<std::string> out;
  CleanedRunBuilder builder(Offset(0), 1 << 20, [&](std::string_view b) {
    out.emplace_back(b);
    return absl::OkStatus();
  });
  std::string first = build({.records = {{"a", "1"}}});
  std::string skipped = build({.records = {{"b", "2"}}});
  set_base_offset(absl::MakeSpan(reinterpret_cast<uint8_t*>(skipped.data()), skipped.size()),
                  Offset(5));
  const RetainRule rule{.map = &map, .map_end = Offset(10)};
  ASSERT_TRUE(builder.add(*BatchView::parse(first), rule).ok());
  EXPECT_TRUE(absl::IsDataLoss(builder.add(*BatchView::parse(skipped), rule)));
  EXPECT_TRUE(absl::IsDataLoss(builder.finish(Offset(10))));
}

TEST(Compaction, TombstonesStayForDeleteRetentionThenGo) {
  DiskHarness h(2);
  h.run([&] {
    LogConfig c = compact_config();
    c.delete_retention_ms = 60'000;
    auto log = open_log(h, c);
    auto batches = rounds_of_keys(3, 6, 3);
    batches.push_back(BatchSpec{.records = {{"key-1", std::nullopt}, {"key-4", std::nullopt}}});
    auto more = rounds_of_keys(20, 2, 1, 9);  // rolls past the tombstones; touches keys 0 and 1
    for (auto& b : more) b.records[0].key = "other-" + b.records[0].key;
    batches.insert(batches.end(), more.begin(), more.end());
    const auto appended = append_all(*log, batches);
    const int64_t cleaned_end = log->segment_base_offsets().back().value();
    compact_now(*log);
    Contents got = contents(*log);
    EXPECT_EQ(check_compacted(got, appended, cleaned_end, false), "");
    int tombstones = 0;
    for (const auto& [o, r] : got.records) tombstones += r.value.has_value() ? 0 : 1;
    EXPECT_EQ(tombstones, 2) << "kept within delete.retention.ms";
    const CompactionReport later = compact_now(*log, Offset(0), 1 << 20, kNowMs + 61'000);
    EXPECT_EQ(later.stats.tombstones_dropped, 2);
    got = contents(*log);
    EXPECT_EQ(check_compacted(got, appended, cleaned_end, true), "");
    for (const auto& [o, r] : got.records) {
      EXPECT_TRUE(r.value.has_value()) << "tombstone at " << o;
      EXPECT_NE(r.key, "key-1");
      EXPECT_NE(r.key, "key-4");
    }
  });
}

TEST(Compaction, CompressedBatchKeptInPartIsRewrittenWithItsCodec) {
  for (Compression codec :
       {Compression::kGzip, Compression::kSnappy, Compression::kLz4, Compression::kZstd}) {
    DiskHarness h(3);
    h.run([&] {
      auto log = open_log(h, compact_config());
      std::vector<BatchSpec> batches{
          {.records = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}, .codec = codec},
          {.records = {{"b", "6"}, {"d", "7"}}}};
      for (int i = 0; i < 20; ++i)
        batches.push_back({.records = {{"pad-" + std::to_string(i), std::string(60, 'p')}}});
      const auto appended = append_all(*log, batches);
      const int64_t cleaned_end = log->segment_base_offsets().back().value();
      const CompactionReport report = compact_now(*log);
      EXPECT_EQ(report.stats.batches_rewritten, 1);
      const Contents got = contents(*log);
      EXPECT_EQ(check_compacted(got, appended, cleaned_end, false), "");
      ASSERT_FALSE(got.batches.empty());
      const BatchHeader& first = got.batches.front();
      EXPECT_EQ(first.compression(), codec);
      EXPECT_EQ(first.record_count, 3);
      EXPECT_EQ(first.last_offset_delta, 4) << "the offsets of a, c, e stay 0, 2, 4";
      EXPECT_EQ(got.records.at(2).value, "3");
      EXPECT_EQ(got.records.at(4).value, "5");
    });
  }
}

TEST(Compaction, IdempotentBatchesAndEpochBoundariesKeepTheirOffsetsInEmptyBatches) {
  DiskHarness h(4);
  h.run([&] {
    auto log = open_log(h, compact_config());
    // Epoch 0: an idempotent batch of k, then one that supersedes it; epoch 1: both again.
    std::map<int64_t, KeyedRecord> appended;
    auto add = [&](const std::vector<BatchSpec>& b, int epoch) {
      for (auto& [o, r] : append_all(*log, b, LeaderEpoch(epoch))) appended[o] = r;
    };
    add({{.records = {{"k", "1"}}, .producer_id = 7, .base_sequence = 0},
         {.records = {{"j", "1"}}, .producer_id = 7, .base_sequence = 1},
         {.records = {{"k", "2"}}}},
        0);
    add({{.records = {{"j", "2"}}}, {.records = {{"k", "3"}}}}, 1);
    for (int i = 0; i < 20; ++i)
      add({{.records = {{"pad-" + std::to_string(i), std::string(60, 'p')}}}}, 1);
    const int64_t cleaned_end = log->segment_base_offsets().back().value();
    const auto epochs_before = log->leader_epochs();
    const CompactionReport report = compact_now(*log);
    const Contents got = contents(*log);
    EXPECT_EQ(check_compacted(got, appended, cleaned_end, false), "");
    EXPECT_GT(report.stats.empty_batches, 0);
    // Offsets 0-1 (producer 7's) went; 2 (k=2, epoch 0) went; 3 (j=2) is the first of epoch 1.
    for (const BatchHeader& b : got.batches) {
      if (b.producer_id >= 0) {
        EXPECT_EQ(b.base_sequence + b.last_offset_delta, b.base_sequence + b.record_count - 1)
            << "an idempotent batch's sequences must not be stretched";
      }
      if (b.base_offset <= 3 && b.last().value() >= 3) {
        EXPECT_EQ(b.partition_leader_epoch, 1) << "the batch covering offset 3";
      }
      if (b.base_offset == 0) {
        EXPECT_EQ(b.partition_leader_epoch, 0);
      }
    }
    ASSERT_TRUE(log->close().ok());
    log = open_log(h, compact_config(), Offset(0));  // validates all, epochs re-derived
    EXPECT_EQ(log->leader_epochs(), epochs_before);
  });
}

TEST(Compaction, NeverPassesTheHighWatermarkOrTheActiveSegment) {
  DiskHarness h(5);
  h.run([&] {
    auto log = open_log(h, compact_config());
    const auto appended = append_all(*log, rounds_of_keys(12, 8, 2));
    const auto bases = log->segment_base_offsets();
    ASSERT_GT(bases.size(), 4u);
    log->set_high_watermark(bases[3]);
    EXPECT_EQ(log->cleanable_extent(Offset(0), kNowMs).end, bases[3]);
    auto report = log->compact(CleanerOptions{.first_dirty = Offset(0), .now_ms = kNowMs});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->first_dirty, bases[3]);
    EXPECT_EQ(check_compacted(contents(*log), appended, bases[3].value(), false), "");
    // min.compaction.lag.ms keeps young segments out.
    LogConfig c = compact_config();
    c.min_compaction_lag_ms = 3'600'000;
    auto young = PartitionLog::open(h.disk(), h.clock(), "/data/young-0", c, Offset(0));
    ASSERT_TRUE(young.ok()) << young.status();
    append_all(**young, rounds_of_keys(12, 8, 2));
    (*young)->set_high_watermark((*young)->log_end_offset());
    EXPECT_EQ((*young)->cleanable_extent(Offset(0), kNowMs).dirty_bytes, 0u);
    EXPECT_GT((*young)->cleanable_extent(Offset(0), kNowMs + 3'600'001).dirty_bytes, 0u);
    // A log without compact refuses.
    ASSERT_TRUE(log->update_config(LogConfig{}).ok());
    EXPECT_TRUE(absl::IsFailedPrecondition(log->compact(CleanerOptions{}).status()));
  });
}

TEST(Compaction, AFullOffsetMapCleansInSteps) {
  DiskHarness h(6);
  h.run([&] {
    auto log = open_log(h, compact_config());
    const auto appended = append_all(*log, rounds_of_keys(6, 24, 3));
    const int64_t active_base = log->segment_base_offsets().back().value();
    // Room for 10 keys: the first pass stops where the eleventh comes.
    const size_t ten_keys = 10 * (6 + OffsetMap::kEntryOverheadBytes);
    const CompactionReport first = compact_now(*log, Offset(0), ten_keys);
    EXPECT_TRUE(first.map_full);
    EXPECT_GT(first.first_dirty.value(), 0);
    EXPECT_LT(first.first_dirty.value(), active_base);
    EXPECT_EQ(check_safe(contents(*log), appended), "");
    Offset dirty = first.first_dirty;
    for (int pass = 0; pass < 40 && dirty.value() < active_base; ++pass)
      dirty = compact_now(*log, dirty, ten_keys).first_dirty;
    EXPECT_EQ(dirty.value(), active_base);
    // Small maps clean only what their range proves superseded: one more pass with room for
    // every key takes the rest.
    compact_now(*log);
    EXPECT_EQ(check_compacted(contents(*log), appended, active_base, false), "");
  });
}

TEST(Compaction, ACleanedRangeReplicatesToAFollowerAsItIs) {
  DiskHarness h(7);
  h.run([&] {
    auto leader = open_log(h, compact_config());
    const auto appended = append_all(*leader, rounds_of_keys(10, 6, 2));
    compact_now(*leader);
    auto follower =
        PartitionLog::open(h.disk(), h.clock(), "/data/follower-0", compact_config(), Offset(0));
    ASSERT_TRUE(follower.ok()) << follower.status();
    for (const std::string& b : read_all(*leader)) {
      auto info = (*follower)->append_replicated(b);
      ASSERT_TRUE(info.ok()) << info.status();
    }
    EXPECT_EQ((*follower)->log_end_offset(), leader->log_end_offset());
    EXPECT_EQ(contents(**follower).records.size(), contents(*leader).records.size());
  });
}

// A follower that copied part of the log before its leader cleaned it ends inside a batch the
// cleaner grew over removed batches: it takes the leader's batch over its own end and catches up.
TEST(Compaction, AFollowerWhoseEndTheCleanerCoveredCatchesUp) {
  DiskHarness h(9);
  h.run([&] {
    auto leader = open_log(h, compact_config());
    const auto appended = append_all(*leader, rounds_of_keys(10, 6, 2));
    auto follower =
        PartitionLog::open(h.disk(), h.clock(), "/data/follower-0", compact_config(), Offset(0));
    ASSERT_TRUE(follower.ok()) << follower.status();
    const auto before = read_all(*leader);
    for (size_t i = 0; i < before.size() / 2; ++i)
      ASSERT_TRUE((*follower)->append_replicated(before[i]).ok());
    const CompactionReport report = compact_now(*leader);
    ASSERT_GT(report.stats.batches_removed, 0);
    int rounds = 0;
    bool overlapped = false;
    while ((*follower)->log_end_offset() < leader->log_end_offset() && rounds++ < 100) {
      auto r = leader->read((*follower)->log_end_offset(), 1 << 16, leader->log_end_offset(), true);
      ASSERT_TRUE(r.ok()) << r.status();
      auto first = parse_batch_header(r->records);
      ASSERT_TRUE(first.ok());
      overlapped |= first->base() < (*follower)->log_end_offset();
      auto info = (*follower)->append_replicated(r->records);
      if (!info.ok()) {
        EXPECT_TRUE(absl::IsFailedPrecondition(info.status())) << info.status();
      }
    }
    EXPECT_TRUE(overlapped) << "the follower's end never fell inside a cleaned batch";
    EXPECT_EQ((*follower)->log_end_offset(), leader->log_end_offset());
    EXPECT_EQ(check_safe(contents(**follower), appended), "");
  });
}

// A pass cut anywhere by a power loss: what open() finds is each group before or after its
// swap, never a mix that loses a record the pass had to keep; and the log can be cleaned on.
TEST(Compaction, PowerLossAnywhereInAPassLosesNoLatestRecord) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    DiskHarness h(seed);
    DeterministicRandom r(seed * 31 + 7);
    std::unique_ptr<PartitionLog> log;
    std::map<int64_t, KeyedRecord> appended;
    int64_t active_base = 0;
    h.run([&] {
      log = open_log(h, compact_config());
      appended = append_all(*log, rounds_of_keys(10, 8, 2, seed));
      ASSERT_TRUE(log->flush().ok());
      active_base = log->segment_base_offsets().back().value();
      log->set_high_watermark(log->log_end_offset());
    });
    auto pass = spawn("cleaner", [&] {
      (void)log->compact(CleanerOptions{.first_dirty = Offset(0), .now_ms = kNowMs});
      delay(3600s);
    });
    h.run([&] { delay(from_seconds(r.uniform01() * 0.05)); });
    h.disk().crash();
    h.run([&] { delay(1s); });
    pass.reset();
    h.run([&] { log.reset(); });
    h.run([&] {
      auto reopened = open_log(h, compact_config(), Offset(0));
      ASSERT_NE(reopened, nullptr);
      const Contents got = contents(*reopened);
      ASSERT_EQ(check_safe(got, appended), "") << "seed " << seed;
      for (const auto& [o, rec] : appended)
        if (o >= active_base) {
          EXPECT_EQ(got.records.count(o), 1u) << "seed " << seed;
        }
      EXPECT_EQ(reopened->log_end_offset().value(), appended.rbegin()->first + 1);
      compact_now(*reopened);
      EXPECT_EQ(check_compacted(contents(*reopened), appended, active_base, false), "")
          << "seed " << seed;
    });
  }
}

// A truncation (a follower after an unclean election) cuts segments in place while a pass
// rewrites them without the log's lock: the pass must not swap in bytes from beyond the cut.
TEST(Compaction, ATruncationDuringAPassIsNeverUndone) {
  int abandoned = 0;
  for (int step = 0; step < 40; ++step) {
    DiskHarness h(100 + static_cast<uint64_t>(step));
    h.run([&] {
      auto log = open_log(h, compact_config());
      const auto appended = append_all(*log, rounds_of_keys(12, 8, 2));
      log->set_high_watermark(log->log_end_offset());
      const Offset cut(log->segment_base_offsets()[1].value() + 3);
      CompactionReport report;
      auto pass = spawn("cleaner", [&] {
        auto r = log->compact(CleanerOptions{.first_dirty = Offset(0), .now_ms = kNowMs});
        ASSERT_TRUE(r.ok()) << r.status();
        report = *r;
      });
      delay(std::chrono::microseconds(50 * step));
      ASSERT_TRUE(log->truncate_to(cut).ok());
      const Offset end = log->log_end_offset();
      ASSERT_LE(end, cut) << "step " << step;
      // New batches after the cut roll the cut segment: it is no longer the last one.
      auto after = append_all(*log, rounds_of_keys(4, 8, 2, 77));
      (void)await(pass);
      abandoned += report.groups_abandoned > 0 ? 1 : 0;
      const Contents got = contents(*log);
      EXPECT_EQ(got.defect, "") << "step " << step;
      for (const auto& [o, r] : got.records) {
        const KeyedRecord& want = o < end.value() ? appended.at(o) : after.at(o);
        EXPECT_EQ(want.value, r.value) << "step " << step << " offset " << o;
      }
    });
  }
  EXPECT_GT(abandoned, 0) << "no step truncated in the middle of a pass";
}

TEST(LogManagerCleaner, CleansTheDirtiestCompactedLogAndCheckpointsIt) {
  DiskHarness h(8);
  h.run([&] {
    LogConfig c = compact_config();
    auto manager = LogManager::open(h.disk(), h.clock(), {"/data"}, LogConfig{});
    ASSERT_TRUE(manager.ok()) << manager.status();
    auto compacted = (*manager)->create({"compacted", 0}, c);
    auto plain = (*manager)->create({"plain", 0}, compact_config());
    ASSERT_TRUE(compacted.ok() && plain.ok());
    ASSERT_TRUE((*plain)->update_config(LogConfig{.segment_bytes_max = 1200}).ok());
    append_all(**compacted, rounds_of_keys(10, 4, 2));
    append_all(**plain, rounds_of_keys(10, 4, 2));
    (*compacted)->set_high_watermark((*compacted)->log_end_offset());
    (*plain)->set_high_watermark((*plain)->log_end_offset());
    auto pass = (*manager)->clean_one(kNowMs, 1 << 20);
    ASSERT_TRUE(pass.ok()) << pass.status();
    ASSERT_TRUE(pass->has_value());
    EXPECT_EQ((*pass)->partition.topic, "compacted");
    const Offset dirty = (*pass)->report.first_dirty;
    EXPECT_GT(dirty.value(), 0);
    auto again = (*manager)->clean_one(kNowMs, 1 << 20);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value()) << "nothing dirty is left";
    ASSERT_TRUE((*manager)->close().ok());
    manager->reset();
    auto reopened = LogManager::open(h.disk(), h.clock(), {"/data"}, LogConfig{});
    ASSERT_TRUE(reopened.ok());
    EXPECT_EQ((*reopened)->first_dirty({"compacted", 0}), dirty);
    EXPECT_EQ((*reopened)->first_dirty({"plain", 0}), std::nullopt);
  });
}

// The model, on random logs: keys from a small set, tombstones, codecs, several passes with a
// random map budget and random clean points.
RC_GTEST_PROP(CompactionModel, KeepsExactlyTheLatestRecordsOfTheCleanedRange, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  DiskHarness h(seed);
  DeterministicRandom r(seed);
  std::string verdict;
  h.run([&] {
    auto log = open_log(h, compact_config());
    std::map<int64_t, KeyedRecord> appended;
    int64_t cleaned_end = 0;
    bool ever_full = false;
    for (int step = 0; step < 6 && verdict.empty(); ++step) {
      std::vector<BatchSpec> batches;
      const int n = static_cast<int>(1 + r.below(12));
      for (int i = 0; i < n; ++i) {
        BatchSpec b;
        b.codec = r.coinflip(0.3) ? Compression::kLz4 : Compression::kNone;
        const int records = static_cast<int>(1 + r.below(4));
        for (int j = 0; j < records; ++j) {
          KeyedRecord rec{"k" + std::to_string(r.below(10)), std::nullopt};
          if (!r.coinflip(0.1)) rec.value = std::string(1 + r.below(80), 'a' + char(r.below(26)));
          b.records.push_back(rec);
        }
        batches.push_back(std::move(b));
      }
      for (auto& [o, rec] : append_all(*log, batches)) appended[o] = rec;
      const size_t budget = r.coinflip(0.3) ? 4 * (3 + OffsetMap::kEntryOverheadBytes) : 1 << 20;
      const CompactionReport report = compact_now(*log, Offset(cleaned_end), budget);
      cleaned_end = report.first_dirty.value();
      ever_full |= report.map_full;
      const Contents got = contents(*log);
      verdict = check_safe(got, appended);
      // Passes that all had room for every key leave nothing superseded below where they
      // stopped (a pass that ran out of room may leave duplicates that later passes, whose
      // maps cover only the dirty section, do not see).
      if (verdict.empty() && !ever_full && report.first_dirty.value() > 0)
        verdict = check_compacted(got, appended, report.first_dirty.value(), false);
    }
  });
  RC_ASSERT(verdict == "");
}

}  // namespace
}  // namespace weir::broker::log
