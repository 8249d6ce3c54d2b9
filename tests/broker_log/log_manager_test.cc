// LogManager: discovery of partition directories across log dirs, Kafka's checkpoint files
// (round trip, atomic replacement, damaged files costing a full recovery, never a crash),
// creation placement and crash-safe removal.
#include "broker/log/log_manager.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/log/checkpoint_file.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::log {
namespace {

using test::append_bytes;
using test::DiskHarness;
using test::make_batch;
using test::read_all;

const std::vector<std::string> kDirs = {"/data/a", "/data/b"};

TEST(OffsetCheckpointFormat, RoundTripAndKafkaText) {
  OffsetCheckpoint offsets{{{"orders", 0}, Offset(42)}, {{"my-topic.v2", 11}, Offset(7)}};
  const std::string text = encode_offset_checkpoint(offsets);
  EXPECT_EQ(text, "0\n2\nmy-topic.v2 11 7\norders 0 42\n");
  auto back = decode_offset_checkpoint(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, offsets);
  for (const char* bad :
       {"", "1\n0\n", "0\n2\norders 0 1\n", "0\n1\norders 0\n", "0\n1\norders x 1\n",
        "0\n1\norders 0 -5\n", "0\n1\nor/ders 0 1\n", "0\n2\na 0 1\na 0 2\n"}) {
    EXPECT_FALSE(decode_offset_checkpoint(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_partition_dir("my-topic-12")->topic, "my-topic");
  EXPECT_EQ(parse_partition_dir("my-topic-12")->partition, 12);
  for (const char* bad : {"topic", "topic-", "-1", "topic-01", "recovery-point-offset-checkpoint",
                          "a/b-1", "meta.properties"}) {
    EXPECT_FALSE(parse_partition_dir(bad).has_value()) << bad;
  }
}

TEST(LogManager, CreateCheckpointReopen) {
  DiskHarness h(21);
  h.run([&] {
    LogConfig c;
    c.segment_bytes_max = 2000;
    auto manager = LogManager::open(h.disk(), h.clock(), kDirs, c);
    ASSERT_TRUE(manager.ok()) << manager.status();
    std::map<TopicPartition, std::vector<std::string>> appended;
    for (int p = 0; p < 4; ++p) {
      TopicPartition tp{"orders", p};
      auto log = (*manager)->create(tp);
      ASSERT_TRUE(log.ok()) << log.status();
      for (int i = 0; i < 12; ++i) {
        appended[tp].push_back(make_batch(static_cast<uint64_t>(p * 100 + i), 2, 1000 + i));
        ASSERT_TRUE(append_bytes(**log, appended[tp].back()).ok());
      }
    }
    // Placement balances the dirs.
    EXPECT_TRUE(h.disk().exists("/data/a/orders-0"));
    EXPECT_TRUE(h.disk().exists("/data/b/orders-1"));
    ASSERT_TRUE((*manager)->get({"orders", 1})->delete_records_before(Offset(6)).ok());
    ASSERT_TRUE((*manager)->close().ok());
    auto text = read_text_file(h.disk(), "/data/b/log-start-offset-checkpoint", 1000);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, "0\n2\norders 1 6\norders 3 0\n");
    auto reopened = LogManager::open(h.disk(), h.clock(), kDirs, c);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_EQ((*reopened)->partitions().size(), 4u);
    for (auto& [tp, batches] : appended) {
      PartitionLog* log = (*reopened)->get(tp);
      ASSERT_NE(log, nullptr);
      if (tp.partition == 1) {
        EXPECT_EQ(log->log_start_offset(), Offset(6));
        batches.erase(batches.begin(), batches.begin() + 3);
      }
      EXPECT_EQ(read_all(*log), batches);
      // The checkpointed recovery point let it trust the sealed segments.
      EXPECT_EQ(log->recovery_report().segments_validated, 1);
    }
  });
}

TEST(LogManager, DamagedCheckpointMeansFullRecoveryNotACrash) {
  DiskHarness h(22);
  h.run([&] {
    LogConfig c;
    c.segment_bytes_max = 2000;
    auto manager = *LogManager::open(h.disk(), h.clock(), {"/data/a"}, c);
    auto log = *manager->create({"t", 0});
    std::vector<std::string> appended;
    for (int i = 0; i < 20; ++i) {
      appended.push_back(make_batch(static_cast<uint64_t>(i), 2, 0));
      ASSERT_TRUE(append_bytes(*log, appended.back()).ok());
    }
    ASSERT_TRUE(manager->close().ok());
    manager.reset();
    ASSERT_TRUE(
        write_file_atomically(h.disk(), "/data/a", kRecoveryPointCheckpointName, "0\n5\ngarbage\n")
            .ok());
    auto reopened = LogManager::open(h.disk(), h.clock(), {"/data/a"}, c);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    PartitionLog* again = (*reopened)->get({"t", 0});
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(read_all(*again), appended);
    EXPECT_EQ(again->recovery_report().segments_validated,
              static_cast<int64_t>(again->segment_count()));
  });
}

// replication-offset-checkpoint: what a restarted broker's partitions start their high
// watermark from. Kept within the log (a truncation or a lost tail lowers it), and no damage
// to it fails a start: it is a hint.
TEST(LogManager, HighWatermarkCheckpointRestoresWithinTheLog) {
  DiskHarness h(24);
  h.run([&] {
    auto manager = *LogManager::open(h.disk(), h.clock(), {"/data/a"}, LogConfig{});
    for (int p = 0; p < 2; ++p) {
      auto log = *manager->create({"t", p});
      for (uint64_t i = 0; i < 5; ++i) {
        std::string batch = make_batch(i, 2, 0);
        ASSERT_TRUE(append_bytes(*log, batch).ok());
      }
    }
    manager->get({"t", 0})->set_high_watermark(Offset(6));
    manager->get({"t", 1})->set_high_watermark(Offset(99));  // clamped: the log ends at 10
    ASSERT_TRUE(manager->checkpoint_high_watermarks().ok());
    auto text = read_text_file(h.disk(), "/data/a/replication-offset-checkpoint", 1000);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, "0\n2\nt 0 6\nt 1 10\n");
    ASSERT_TRUE(manager->get({"t", 0})->truncate_to(Offset(4)).ok());
    ASSERT_TRUE(manager->close().ok());
    manager.reset();
    auto reopened = *LogManager::open(h.disk(), h.clock(), {"/data/a"}, LogConfig{});
    EXPECT_EQ(reopened->get({"t", 0})->high_watermark(), Offset(4));
    EXPECT_EQ(reopened->get({"t", 1})->high_watermark(), Offset(10));
    ASSERT_TRUE(reopened->close().ok());
    reopened.reset();
    // Damaged: every high watermark starts at its log start, and the broker still starts.
    ASSERT_TRUE(
        write_file_atomically(h.disk(), "/data/a", kHighWatermarkCheckpointName, "0\n1\nt 0 x\n")
            .ok());
    auto damaged = LogManager::open(h.disk(), h.clock(), {"/data/a"}, LogConfig{});
    ASSERT_TRUE(damaged.ok()) << damaged.status();
    EXPECT_EQ((*damaged)->get({"t", 1})->high_watermark(), Offset(0));
  });
}

TEST(LogManager, RemoveIsCrashSafe) {
  DiskHarness h(23);
  h.run([&] {
    auto manager = *LogManager::open(h.disk(), h.clock(), {"/data/a"}, LogConfig{});
    auto log = *manager->create({"gone", 0});
    std::string b = make_batch(1, 2, 0);
    ASSERT_TRUE(append_bytes(*log, b).ok());
    ASSERT_TRUE(manager->create({"kept", 0}).ok());
    ASSERT_TRUE(manager->remove({"gone", 0}).ok());
    EXPECT_FALSE(h.disk().exists("/data/a/gone-0"));
    EXPECT_EQ(manager->remove({"gone", 0}).code(), absl::StatusCode::kNotFound);
    // A removal interrupted after its marker: the next start finishes it.
    ASSERT_TRUE(h.disk().create_directories("/data/a/half-0").ok());
    ASSERT_TRUE(h.disk().open("/data/a/half-0/weir-delete-pending", OpenMode::kCreate).ok());
    ASSERT_TRUE(h.disk().open("/data/a/half-0/00000000000000000000.log", OpenMode::kCreate).ok());
    ASSERT_TRUE(manager->close().ok());
    manager.reset();
    auto reopened = *LogManager::open(h.disk(), h.clock(), {"/data/a"}, LogConfig{});
    EXPECT_FALSE(h.disk().exists("/data/a/half-0"));
    const std::vector<TopicPartition> want = {TopicPartition{"kept", 0}};
    EXPECT_EQ(reopened->partitions(), want);
  });
}

}  // namespace
}  // namespace weir::broker::log
