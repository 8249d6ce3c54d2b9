// PartitionLog on a healthy simulated disk: append, read, roll, validation, LogAppendTime,
// retention, DeleteRecords, timestamps, truncation, leader epochs, flush policy, reopen.
#include "broker/log/partition_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/log/checkpoint_file.h"
#include "broker/log/log_io.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::log {
namespace {

using test::append_bytes;
using test::DiskHarness;
using test::make_batch;
using test::read_all;

constexpr char kDir[] = "/data/topic-0";

LogConfig small_config() {
  LogConfig c;
  c.segment_bytes_max = 2000;
  c.index_interval_bytes = 200;
  return c;
}

std::unique_ptr<PartitionLog> open_log(DiskHarness& h, const LogConfig& c,
                                       Offset recovery_point = Offset(0),
                                       Offset log_start = Offset(0)) {
  auto log = PartitionLog::open(h.disk(), h.clock(), kDir, c, recovery_point, log_start);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

// Appends `n` batches of 3 records each; returns their bytes as stored (offsets assigned).
std::vector<std::string> append_n(PartitionLog& log, int n, int64_t ts = 1000, uint64_t tag = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string b = make_batch(tag + static_cast<uint64_t>(i), 3, ts + i * 10);
    auto info = append_bytes(log, b);
    EXPECT_TRUE(info.ok()) << info.status();
    out.push_back(b);
  }
  return out;
}

TEST(PartitionLog, AppendAssignsOffsetsAndReadsWholeBatches) {
  DiskHarness h(1);
  h.run([&] {
    auto log = open_log(h, LogConfig{});
    std::string b = make_batch(0, 3, 1000);
    auto info = append_bytes(*log, b);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->first_offset, Offset(0));
    EXPECT_EQ(info->last_offset, Offset(2));
    EXPECT_EQ(info->record_count, 3);
    EXPECT_EQ(info->log_append_time_ms, -1);
    auto more = append_n(*log, 9, 2000, 100);
    EXPECT_EQ(log->log_end_offset(), Offset(30));
    EXPECT_EQ(read_all(*log).size(), 10u);
    // From the batch holding offset 4 (3..5).
    auto r = log->read(Offset(4), 1 << 20, Offset(30), true);
    ASSERT_TRUE(r.ok()) << r.status();
    auto batches = *split_batches(r->records, SIZE_MAX);
    EXPECT_EQ(batches.front().header().base(), Offset(3));
    EXPECT_EQ(batches.size(), 9u);
    EXPECT_EQ(r->segment_path, "/data/topic-0/00000000000000000000.log");
    EXPECT_EQ(r->file_position, b.size());
    // Never past end_offset_max (a high watermark of 9: batches 0-2, 3-5, 6-8).
    r = log->read(Offset(0), 1 << 20, Offset(9), true);
    EXPECT_EQ(split_batches(r->records, SIZE_MAX)->size(), 3u);
    // KIP-74: one batch even if it is larger than bytes_max, when asked.
    r = log->read(Offset(0), 10, Offset(30), true);
    EXPECT_EQ(r->records, b);
    r = log->read(Offset(0), 10, Offset(30), false);
    EXPECT_TRUE(r->records.empty());
    r = log->read(Offset(30), 100, Offset(30), true);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->records.empty());
    EXPECT_EQ(log->read(Offset(31), 100, Offset(31), true).status().code(),
              absl::StatusCode::kOutOfRange);
  });
}

TEST(PartitionLog, RollsSegmentsAndReadsAcrossThem) {
  DiskHarness h(2);
  h.run([&] {
    auto log = open_log(h, small_config());
    auto appended = append_n(*log, 40);
    EXPECT_GE(log->segment_count(), 5u);
    EXPECT_EQ(read_all(*log), appended);
    auto names = h.disk().list(kDir);
    ASSERT_TRUE(names.ok());
    for (Offset base : log->segment_base_offsets()) {
      for (const char* suffix : {".log", ".index", ".timeindex"}) {
        EXPECT_TRUE(h.disk().exists(std::string(kDir) + "/" + segment_file_name(base, suffix)));
      }
    }
    // Rolling flushed the sealed segments.
    EXPECT_EQ(log->recovery_point(), log->segment_base_offsets().back());
    for (int64_t o = 0; o < 120; o += 7) {
      auto r = log->read(Offset(o), 1, Offset(120), true);
      ASSERT_TRUE(r.ok());
      auto b = BatchView::parse(r->records);
      ASSERT_TRUE(b.ok()) << o;
      EXPECT_LE(b->header().base(), Offset(o));
      EXPECT_GE(b->header().last(), Offset(o));
    }
  });
}

TEST(PartitionLog, InvalidRequestsAppendNothing) {
  DiskHarness h(3);
  h.run([&] {
    LogConfig c;
    c.max_message_bytes = 500;
    auto log = open_log(h, c);
    std::string two = make_batch(1, 2, 0) + make_batch(2, 2, 0);
    two[two.size() - 1] ^= 1;  // the second batch's CRC fails
    auto bad = append_bytes(*log, two);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
    std::string large = make_batch(3, 20, 0);
    auto too_large = append_bytes(*log, large);
    EXPECT_EQ(too_large.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_NE(too_large.status().message().find("MESSAGE_TOO_LARGE"), std::string::npos);
    std::string partial = make_batch(4, 2, 0);
    partial.resize(partial.size() - 5);
    EXPECT_FALSE(append_bytes(*log, partial).ok());
    EXPECT_EQ(log->log_end_offset(), Offset(0));
    EXPECT_EQ(log->size_bytes(), 0);
  });
}

TEST(PartitionLog, LogAppendTimeStampsTheBatch) {
  DiskHarness h(4);
  h.run([&] {
    LogConfig c;
    c.log_append_time = true;
    auto log = open_log(h, c);
    std::string b = make_batch(1, 2, 5);
    const int64_t before_ms = h.clock().wall_ms();
    auto info = append_bytes(*log, b);
    ASSERT_TRUE(info.ok());
    EXPECT_GE(info->log_append_time_ms, before_ms);
    EXPECT_LE(info->log_append_time_ms, h.clock().wall_ms());
    auto stored = read_all(*log);
    auto view = BatchView::parse(stored.at(0));
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->header().timestamp_type(), TimestampType::kLogAppendTime);
    EXPECT_EQ(view->header().max_timestamp, info->log_append_time_ms);
  });
}

TEST(PartitionLog, RetentionByTimeAndBytesNeverTheActiveSegment) {
  DiskHarness h(5);
  h.run([&] {
    LogConfig c = small_config();
    c.retention_ms = 1000;
    auto log = open_log(h, c);
    append_n(*log, 30, 1000);
    const size_t segments = log->segment_count();
    ASSERT_GE(segments, 3u);
    ASSERT_TRUE(log->apply_retention(1500).ok());  // nothing is older than 1000 ms yet
    EXPECT_EQ(log->segment_count(), segments);
    ASSERT_TRUE(log->apply_retention(1'000'000).ok());
    EXPECT_EQ(log->segment_count(), 1u);
    EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
    EXPECT_EQ(log->read(Offset(0), 100, Offset(60), true).status().code(),
              absl::StatusCode::kOutOfRange);
    c.retention_ms = -1;
    c.retention_bytes = 3000;
    auto sized = PartitionLog::open(h.disk(), h.clock(), "/data/sized-0", c, Offset(0));
    ASSERT_TRUE(sized.ok());
    append_n(**sized, 30);
    const int64_t before = (*sized)->size_bytes();
    ASSERT_TRUE((*sized)->apply_retention(0).ok());
    // Kafka's rule: delete the oldest while what remains would still be >= retention.bytes.
    EXPECT_LT((*sized)->size_bytes(), before);
    EXPECT_GE((*sized)->size_bytes(), 3000);
    EXPECT_LT((*sized)->size_bytes(), 3000 + 2000);
  });
}

TEST(PartitionLog, DeleteRecordsAdvancesLogStart) {
  DiskHarness h(6);
  h.run([&] {
    auto log = open_log(h, small_config());
    append_n(*log, 30);
    const size_t segments = log->segment_count();
    auto start = log->delete_records_before(Offset(40));
    ASSERT_TRUE(start.ok());
    EXPECT_EQ(*start, Offset(40));
    EXPECT_LT(log->segment_count(), segments);
    EXPECT_LE(log->segment_base_offsets().front(), Offset(40));
    EXPECT_EQ(log->read(Offset(39), 100, Offset(90), true).status().code(),
              absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(log->read(Offset(40), 100, Offset(90), true).ok());
    EXPECT_EQ(*log->delete_records_before(Offset(10)), Offset(40));  // never backwards
    EXPECT_FALSE(log->delete_records_before(Offset(91)).ok());
    // The log start offset survives a reopen given the checkpointed value.
    ASSERT_TRUE(log->close().ok());
    auto reopened = open_log(h, small_config(), Offset(90), Offset(40));
    EXPECT_EQ(reopened->log_start_offset(), Offset(40));
  });
}

TEST(PartitionLog, OffsetForTimestamp) {
  DiskHarness h(7);
  h.run([&] {
    auto log = open_log(h, small_config());
    append_n(*log, 30, 10'000);  // batch i: records at 10000 + 10 i + {0, 1, 2}
    for (int i = 0; i < 30; i += 3) {
      auto o = log->offset_for_timestamp(10'000 + 10 * i + 1);
      ASSERT_TRUE(o.ok());
      ASSERT_TRUE(o->has_value());
      EXPECT_EQ(**o, Offset(3 * i + 1)) << i;
      o = log->offset_for_timestamp(10'000 + 10 * i + 5);  // between batches
      EXPECT_EQ(**o, Offset(3 * i + 3)) << i;
    }
    EXPECT_EQ(**log->offset_for_timestamp(0), Offset(0));
    EXPECT_FALSE(log->offset_for_timestamp(20'000)->has_value());
  });
}

TEST(PartitionLog, TruncateToThenAppendContinues) {
  DiskHarness h(8);
  h.run([&] {
    auto log = open_log(h, small_config());
    auto appended = append_n(*log, 30);
    ASSERT_TRUE(log->truncate_to(Offset(31)).ok());  // inside batch 30..32
    EXPECT_EQ(log->log_end_offset(), Offset(30));
    appended.resize(10);
    EXPECT_EQ(read_all(*log), appended);
    auto more = append_n(*log, 5, 5000, 500);
    EXPECT_EQ(log->log_end_offset(), Offset(45));
    appended.insert(appended.end(), more.begin(), more.end());
    EXPECT_EQ(read_all(*log), appended);
    ASSERT_TRUE(log->close().ok());
    auto reopened = open_log(h, small_config(), Offset(0));
    EXPECT_EQ(read_all(*reopened), appended);
  });
}

TEST(PartitionLog, LeaderEpochCache) {
  DiskHarness h(9);
  h.run([&] {
    auto log = open_log(h, LogConfig{});
    std::string b;
    for (int epoch : {1, 1, 3, 3}) {
      b = make_batch(static_cast<uint64_t>(epoch), 2, 0);
      ASSERT_TRUE(append_bytes(*log, b, LeaderEpoch(epoch)).ok());
    }
    ASSERT_EQ(log->leader_epochs().size(), 2u);
    using P = std::pair<LeaderEpoch, Offset>;
    EXPECT_EQ(log->end_offset_for_epoch(LeaderEpoch(1)), P(LeaderEpoch(1), Offset(4)));
    EXPECT_EQ(log->end_offset_for_epoch(LeaderEpoch(2)), P(LeaderEpoch(1), Offset(4)));
    EXPECT_EQ(log->end_offset_for_epoch(LeaderEpoch(3)), P(LeaderEpoch(3), Offset(8)));
    EXPECT_EQ(log->end_offset_for_epoch(LeaderEpoch(0)), P(LeaderEpoch(0), Offset(0)));
    EXPECT_EQ(log->end_offset_for_epoch(LeaderEpoch(4)), std::nullopt);
    auto text = read_text_file(h.disk(), std::string(kDir) + "/leader-epoch-checkpoint", 1000);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, "0\n2\n1 0\n3 4\n");
    ASSERT_TRUE(log->truncate_to(Offset(4)).ok());
    EXPECT_EQ(log->leader_epochs().size(), 1u);
    ASSERT_TRUE(log->close().ok());
    auto reopened = open_log(h, LogConfig{});
    EXPECT_EQ(reopened->end_offset_for_epoch(LeaderEpoch(1)), P(LeaderEpoch(1), Offset(4)));
  });
}

// A leader replaced before its first append leaves an epoch that starts at the log end and
// holds nothing; as a follower it must drop it when told to cut there, or the new leader's
// batches at that offset (of an older epoch) could never be appended (the simulator's
// ControllerFailover found a follower stuck so).
TEST(PartitionLog, TruncateAtTheLogEndDropsAnEmptyEpoch) {
  DiskHarness h(10);
  h.run([&] {
    auto log = open_log(h, LogConfig{});
    std::string first = make_batch(1, 2, 0), second = make_batch(2, 2, 0);
    ASSERT_TRUE(append_bytes(*log, first, LeaderEpoch(1)).ok());
    ASSERT_TRUE(log->assign_epoch(LeaderEpoch(2)).ok());
    ASSERT_EQ(log->leader_epochs().size(), 2u);
    ASSERT_TRUE(log->truncate_to(Offset(2)).ok());
    ASSERT_EQ(log->leader_epochs().size(), 1u);
    EXPECT_EQ(log->leader_epochs().back().epoch, LeaderEpoch(1));
    EXPECT_TRUE(append_bytes(*log, second, LeaderEpoch(1)).ok());
    ASSERT_TRUE(log->truncate_to(Offset(9)).ok());  // beyond the end: nothing changes
    EXPECT_EQ(log->log_end_offset(), Offset(4));
  });
}

TEST(PartitionLog, FlushPolicyAdvancesTheRecoveryPoint) {
  DiskHarness h(10);
  h.run([&] {
    LogConfig c;
    c.flush_interval_messages = 1;
    auto log = open_log(h, c);
    append_n(*log, 3);
    EXPECT_EQ(log->recovery_point(), Offset(9));
    c.flush_interval_messages = INT64_MAX;
    c.flush_interval_ms = 50;
    auto timed = PartitionLog::open(h.disk(), h.clock(), "/data/timed-0", c, Offset(0));
    append_n(**timed, 2);
    EXPECT_EQ((*timed)->recovery_point(), Offset(0));
    delay(60ms);
    ASSERT_TRUE((*timed)->maybe_flush().ok());
    EXPECT_EQ((*timed)->recovery_point(), Offset(6));
  });
}

TEST(PartitionLog, ReopenTrustsFlushedSegmentsAndValidatesTheRest) {
  DiskHarness h(11);
  h.run([&] {
    auto log = open_log(h, small_config());
    auto appended = append_n(*log, 40);
    const Offset rp = log->recovery_point();
    ASSERT_TRUE(log->close().ok());
    auto reopened = open_log(h, small_config(), rp);
    EXPECT_EQ(read_all(*reopened), appended);
    EXPECT_EQ(reopened->recovery_report().segments_validated, 1);
    EXPECT_EQ(reopened->recovery_report().bytes_cut, 0u);
    auto again = append_n(*reopened, 1, 9000, 900);
    EXPECT_EQ(again.size(), 1u);
  });
}

TEST(PartitionLog, ConcurrentAppendersGetDisjointOffsets) {
  DiskHarness h(12);
  h.run([&] {
    LogConfig c = small_config();
    c.flush_interval_messages = 2;
    auto log = open_log(h, c);
    std::vector<Future<void>> writers;
    std::vector<Offset> firsts;
    for (int w = 0; w < 4; ++w) {
      writers.push_back(spawn("writer", [&, w] {
        for (int i = 0; i < 10; ++i) {
          std::string b = make_batch(static_cast<uint64_t>(w * 100 + i), 2, 0);
          auto info = append_bytes(*log, b);
          ASSERT_TRUE(info.ok());
          firsts.push_back(info->first_offset);
        }
      }));
    }
    for (auto& f : writers) ASSERT_TRUE(await(f).ok());
    std::sort(firsts.begin(), firsts.end());
    for (size_t i = 0; i < firsts.size(); ++i) EXPECT_EQ(firsts[i], Offset(2 * i));
    EXPECT_EQ(read_all(*log).size(), 40u);
  });
}

}  // namespace
}  // namespace weir::broker::log
