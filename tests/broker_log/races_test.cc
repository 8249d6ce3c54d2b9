// PartitionLog's lock-free readers against the mutations that suspend midway (retention
// deleting several segments, a truncation cutting a segment), and reads and recovery on a disk
// that corrupts what it returns. Regressions of what the LogDurability simulation found.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/log/partition_log.h"
#include "runtime/future.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::log {
namespace {

using test::append_bytes;
using test::DiskHarness;
using test::make_batch;
using test::read_all;

constexpr char kDir[] = "/data/races-0";

LogConfig small_config() {
  LogConfig c;
  c.segment_bytes_max = 2000;
  c.index_interval_bytes = 200;
  return c;
}

std::vector<std::string> append_n(PartitionLog& log, int n, uint64_t tag = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string b = make_batch(tag + static_cast<uint64_t>(i), 3, 1000 + 10 * i);
    EXPECT_TRUE(append_bytes(log, b).ok());
    out.push_back(b);
  }
  return out;
}

// Reads random offsets until stopped; every answer must be a batch or a retryable error.
void read_until(PartitionLog& log, DeterministicRandom& random, const bool& stop, int& reads) {
  while (!stop) {
    const int64_t start = log.log_start_offset().value();
    const int64_t end = log.log_end_offset().value();
    if (end > start) {
      const Offset at(start + static_cast<int64_t>(random.below(end - start)));
      auto r = log.read(at, 1, log.log_end_offset(), true);
      EXPECT_TRUE(r.ok() || absl::IsOutOfRange(r.status()) || absl::IsUnavailable(r.status()))
          << r.status();
      auto t = log.offset_for_timestamp(1000 + 10 * (at.value() / 3));
      EXPECT_TRUE(t.ok() || absl::IsUnavailable(t.status())) << t.status();
      ++reads;
    }
    delay(std::chrono::microseconds(100));
  }
}

// Retention deleting several segments suspends on every removal; a read meanwhile used to
// find its offset above the log start but in no segment (an assertion).
TEST(PartitionLogRaces, ReadsDuringRetentionOfSeveralSegments) {
  DiskHarness h(5);
  h.run([&] {
    LogConfig c = small_config();
    c.retention_bytes = 2500;
    auto log = *PartitionLog::open(h.disk(), h.clock(), kDir, c, Offset(0));
    append_n(*log, 120);
    ASSERT_GT(log->segment_count(), 10u);
    bool stop = false;
    int reads = 0;
    auto reader = spawn("reader", [&] { read_until(*log, h.random(), stop, reads); });
    ASSERT_TRUE(log->apply_retention(0).ok());
    stop = true;
    EXPECT_TRUE(await(std::move(reader)).ok());
    EXPECT_GT(reads, 10);
    EXPECT_LE(log->segment_count(), 3u);
  });
}

// A truncation cuts a segment and rescans it, suspending in between; a read meanwhile used to
// fail with DataLoss on the half-cut segment instead of Unavailable.
TEST(PartitionLogRaces, ReadsDuringTruncationNeverSeeDataLoss) {
  DiskHarness h(6);
  h.run([&] {
    auto log = *PartitionLog::open(h.disk(), h.clock(), kDir, small_config(), Offset(0));
    bool stop = false;
    int reads = 0;
    append_n(*log, 60);
    auto reader = spawn("reader", [&] { read_until(*log, h.random(), stop, reads); });
    for (int round = 0; round < 20; ++round) {
      const int64_t end = log->log_end_offset().value();
      ASSERT_TRUE(log->truncate_to(Offset(end - 3 * (1 + round % 5))).ok());
      append_n(*log, 5, 1000 + static_cast<uint64_t>(round) * 10);
    }
    stop = true;
    EXPECT_TRUE(await(std::move(reader)).ok());
    EXPECT_GT(reads, 10);
  });
}

// Kafka's ListOffsets by time finds no record in a log that DeleteRecords emptied.
TEST(PartitionLogRaces, OffsetForTimestampOfAnEmptiedLogIsNothing) {
  DiskHarness h(7);
  h.run([&] {
    auto log = *PartitionLog::open(h.disk(), h.clock(), kDir, small_config(), Offset(0));
    append_n(*log, 4);
    ASSERT_TRUE(log->delete_records_before(log->log_end_offset()).ok());
    auto t = log->offset_for_timestamp(0);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_FALSE(t->has_value());
  });
}

// Reads flip bits (in baseOffset, batchLength and partitionLeaderEpoch too, which no CRC
// covers): recovery from offset 0 still keeps every flushed batch and writes back none of the
// flips, reads serve the bytes appended, lookups find every batch.
TEST(PartitionLogRaces, CorruptedReadsNeverCutNorServeWrongBytes) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    DiskHarness h(seed);
    h.run([&] {
      auto log = *PartitionLog::open(h.disk(), h.clock(), kDir, small_config(), Offset(0));
      std::vector<std::string> appended = append_n(*log, 80, seed * 1000);
      ASSERT_TRUE(log->close().ok());
      log.reset();
      h.disk().set_faults(sim::DiskFaults{.corrupt_read_probability = 0.05});
      for (int round = 0; round < 4; ++round) {
        auto reopened = PartitionLog::open(h.disk(), h.clock(), kDir, small_config(), Offset(0));
        ASSERT_TRUE(reopened.ok()) << reopened.status();
        EXPECT_EQ((*reopened)->recovery_report().bytes_cut, 0u) << "seed " << seed;
        absl::Status status;
        EXPECT_EQ(read_all(**reopened, &status), appended) << "seed " << seed;
        EXPECT_TRUE(status.ok()) << status;
        for (const std::string& bytes : appended) {
          const BatchHeader hd = *parse_batch_header(bytes);
          auto r = (*reopened)->read(hd.last(), 1, (*reopened)->log_end_offset(), true);
          ASSERT_TRUE(r.ok()) << r.status();
          EXPECT_EQ(r->records, bytes) << "seed " << seed;
          auto t = (*reopened)->offset_for_timestamp(hd.max_timestamp);
          ASSERT_TRUE(t.ok() && t->has_value())
              << (t.ok() ? std::string("nothing") : t.status().ToString());
          EXPECT_EQ(**t, hd.last()) << "seed " << seed;
        }
        for (const LeaderEpochCache::Entry& e : (*reopened)->leader_epochs()) {
          EXPECT_EQ(e.epoch, LeaderEpoch(0));
        }
        ASSERT_TRUE((*reopened)->close().ok());
      }
    });
  }
}

}  // namespace
}  // namespace weir::broker::log
