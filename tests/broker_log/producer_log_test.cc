// Idempotent producers in PartitionLog: a retry answered with the original offsets and nothing
// appended, Kafka's sequence errors leaving the log healthy, a follower that learns producers
// from what it replicates, the state rebuilt after a truncation, and kept across a clean
// restart, a crash and a corrupt snapshot by `<offset>.snapshot` files; the snapshot codec on
// hostile bytes.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "broker/log/log_io.h"
#include "broker/log/partition_log.h"
#include "broker/log/producer_snapshot.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::log {
namespace {

using test::append_bytes;
using test::DiskHarness;

constexpr char kDir[] = "/data/idem-0";
constexpr char kFollowerDir[] = "/data/idem-follower-0";

LogConfig small_config() {
  LogConfig c;
  c.segment_bytes_max = 1500;
  c.index_interval_bytes = 200;
  return c;
}

std::unique_ptr<PartitionLog> open_log(DiskHarness& h, const LogConfig& c, const char* dir = kDir) {
  auto log = PartitionLog::open(h.disk(), h.clock(), dir, c, Offset(0));
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

std::string producer_batch(int64_t pid, int16_t epoch, int32_t seq, int records,
                           int64_t ts = 1000) {
  std::vector<RecordInput> in;
  for (int i = 0; i < records; ++i) {
    in.push_back(RecordInput{.key = "k", .value = std::string(60, 'v'), .timestamp_ms = ts + i});
  }
  auto b = build_batch(
      in, BatchOptions{.producer_id = pid, .producer_epoch = epoch, .base_sequence = seq});
  EXPECT_TRUE(b.ok()) << b.status();
  return *b;
}

absl::StatusOr<AppendInfo> produce(PartitionLog& log, int64_t pid, int16_t epoch, int32_t seq,
                                   int records = 2) {
  std::string b = producer_batch(pid, epoch, seq, records);
  return append_bytes(log, b);
}

// Sends batches 0..n-1 of producer 42 (two records each), returns each batch's first offset.
std::vector<int64_t> produce_n(PartitionLog& log, int n) {
  std::vector<int64_t> firsts;
  for (int i = 0; i < n; ++i) {
    auto info = produce(log, 42, 0, 2 * i);
    EXPECT_TRUE(info.ok()) << info.status();
    if (info.ok()) firsts.push_back(info->first_offset.value());
  }
  return firsts;
}

// Producer 42's retry of its batch at sequence `seq` is answered with the original's offsets.
void expect_duplicate(PartitionLog& log, int32_t seq, int64_t original_first) {
  auto retry = produce(log, 42, 0, seq);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate) << seq;
  EXPECT_EQ(retry->first_offset, Offset(original_first)) << seq;
}

// Twenty batches of producer 42 in a log closed cleanly: their first offsets, and where the
// clean shutdown's snapshot is.
std::pair<std::vector<int64_t>, std::string> produce_and_close(DiskHarness& h) {
  auto log = open_log(h, small_config());
  std::vector<int64_t> firsts = produce_n(*log, 20);
  const Offset end = log->log_end_offset();
  EXPECT_TRUE(log->close().ok());
  return {firsts, std::string(kDir) + "/" + segment_file_name(end, kProducerSnapshotSuffix)};
}

TEST(ProducerLog, RetryIsAnsweredWithTheOriginalOffsetsAndAppendsNothing) {
  DiskHarness h(1);
  h.run([&] {
    LogConfig c;
    c.log_append_time = true;
    auto log = open_log(h, c);
    std::string plain = test::make_batch(0, 3, 1000);  // a producer without idempotence
    ASSERT_TRUE(append_bytes(*log, plain).ok());
    auto first = produce(*log, 42, 0, 0);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_FALSE(first->duplicate);
    const Offset end = log->log_end_offset();
    auto retry = produce(*log, 42, 0, 0);
    ASSERT_TRUE(retry.ok()) << retry.status();
    EXPECT_TRUE(retry->duplicate);
    EXPECT_EQ(retry->first_offset, first->first_offset);
    EXPECT_EQ(retry->last_offset, first->last_offset);
    EXPECT_EQ(retry->log_append_time_ms, first->log_append_time_ms);
    EXPECT_EQ(log->log_end_offset(), end);
    EXPECT_TRUE(produce(*log, 42, 0, 2).ok());
  });
}

TEST(ProducerLog, SequenceErrorsAppendNothingAndLeaveTheLogHealthy) {
  DiskHarness h(2);
  h.run([&] {
    auto log = open_log(h, LogConfig{});
    ASSERT_TRUE(produce(*log, 42, 3, 0).ok());
    const Offset end = log->log_end_offset();
    auto gap = produce(*log, 42, 3, 5);
    EXPECT_TRUE(absl::IsOutOfRange(gap.status())) << gap.status();
    EXPECT_NE(gap.status().message().find("OUT_OF_ORDER_SEQUENCE_NUMBER"), std::string::npos);
    auto fenced = produce(*log, 42, 2, 2);
    EXPECT_NE(fenced.status().message().find("INVALID_PRODUCER_EPOCH"), std::string::npos)
        << fenced.status();
    auto unknown = produce(*log, 43, 0, 7);
    EXPECT_NE(unknown.status().message().find("UNKNOWN_PRODUCER_ID"), std::string::npos)
        << unknown.status();
    // Two batches of one producer in one request must follow each other.
    std::string two = producer_batch(42, 3, 2, 2) + producer_batch(42, 3, 9, 2);
    EXPECT_TRUE(absl::IsOutOfRange(append_bytes(*log, two).status()));
    EXPECT_EQ(log->log_end_offset(), end);
    EXPECT_TRUE(log->failure().ok());
    std::string next_two = producer_batch(42, 3, 2, 2) + producer_batch(42, 3, 4, 2);
    EXPECT_TRUE(append_bytes(*log, next_two).ok());
  });
}

TEST(ProducerLog, AFollowerLearnsProducersFromWhatItReplicates) {
  DiskHarness h(3);
  h.run([&] {
    auto leader = open_log(h, LogConfig{});
    auto follower = open_log(h, LogConfig{}, kFollowerDir);
    produce_n(*leader, 3);
    auto bytes = leader->read(Offset(0), 1 << 20, leader->log_end_offset(), true);
    ASSERT_TRUE(bytes.ok());
    ASSERT_TRUE(follower->append_replicated(bytes->records).ok());
    // The follower leads now: the producer's retry of its last batch is recognised.
    auto retry = produce(*follower, 42, 0, 4);
    ASSERT_TRUE(retry.ok()) << retry.status();
    EXPECT_TRUE(retry->duplicate);
    EXPECT_EQ(retry->first_offset, Offset(4));
  });
}

TEST(ProducerLog, TruncationRebuildsTheStateFromWhatRemains) {
  DiskHarness h(4);
  h.run([&] {
    auto log = open_log(h, small_config());
    const std::vector<int64_t> firsts = produce_n(*log, 20);
    ASSERT_GE(log->segment_count(), 3u);
    ASSERT_TRUE(log->truncate_to(Offset(firsts[12])).ok());
    ASSERT_NE(log->producers().find(42), nullptr) << log->producers().size();
    EXPECT_EQ(log->producers().find(42)->batches.back().last_sequence, 23);
    // Batch 12 is gone: its retry is appended anew, at the truncation point.
    auto again = produce(*log, 42, 0, 24);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_FALSE(again->duplicate);
    EXPECT_EQ(again->first_offset, Offset(firsts[12]));
    auto older = produce(*log, 42, 0, 22);
    ASSERT_TRUE(older.ok());
    EXPECT_TRUE(older->duplicate);
    EXPECT_EQ(older->first_offset, Offset(firsts[11]));
  });
}

TEST(ProducerLog, SnapshotsKeepTheStateAcrossACleanRestart) {
  DiskHarness h(5);
  h.run([&] {
    const auto [firsts, snapshot] = produce_and_close(h);
    EXPECT_TRUE(h.disk().exists(snapshot));
    auto reopened = open_log(h, small_config());
    const Offset end = reopened->log_end_offset();
    for (int i = 15; i < 20; ++i) {  // every batch a producer may still have in flight
      expect_duplicate(*reopened, 2 * i, firsts[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(reopened->log_end_offset(), end);
  });
}

TEST(ProducerLog, ACrashReplaysFromTheLastRollsSnapshot) {
  DiskHarness h(6);
  LogConfig c = small_config();
  c.flush_interval_messages = 1;
  std::unique_ptr<PartitionLog> log;
  std::vector<int64_t> firsts;
  h.run([&] {
    log = open_log(h, c);
    firsts = produce_n(*log, 20);
  });
  h.disk().crash();
  h.run([&] { log.reset(); });
  h.run([&] {
    auto reopened = open_log(h, c);
    expect_duplicate(*reopened, 38, firsts[19]);
  });
}

TEST(ProducerLog, ACorruptSnapshotIsSkippedAndTheStateRebuilt) {
  DiskHarness h(7);
  h.run([&] {
    const auto [firsts, path] = produce_and_close(h);
    auto f = h.disk().open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    const uint8_t junk[4] = {0xde, 0xad, 0xbe, 0xef};
    ASSERT_TRUE((*f)->write(12, absl::MakeConstSpan(junk)).ok());
    ASSERT_TRUE((*f)->sync().ok());
    auto reopened = open_log(h, small_config());
    EXPECT_FALSE(h.disk().exists(path));
    expect_duplicate(*reopened, 38, firsts[19]);
  });
}

TEST(ProducerLog, IdleProducersExpire) {
  DiskHarness h(8);
  h.run([&] {
    LogConfig c;
    c.producer_id_expiration_ms = 60000;
    auto log = open_log(h, c);
    ASSERT_TRUE(produce(*log, 42, 0, 0).ok());
    const int64_t at = h.clock().wall_ms();  // the producer's CreateTime plays no part
    ASSERT_TRUE(log->apply_retention(at + 59999).ok());
    EXPECT_NE(log->producers().find(42), nullptr);
    ASSERT_TRUE(log->apply_retention(at + 60000).ok());
    EXPECT_EQ(log->producers().find(42), nullptr);
  });
}

TEST(ProducerLog, TheBrokenVariantAppendsARetryAgain) {
  DiskHarness h(9);
  h.run([&] {
    LogConfig c;
    c.unsafe_accept_duplicates = true;
    auto log = open_log(h, c);
    ASSERT_TRUE(produce(*log, 42, 0, 0).ok());
    auto retry = produce(*log, 42, 0, 0);
    ASSERT_TRUE(retry.ok());
    EXPECT_FALSE(retry->duplicate);
    EXPECT_EQ(log->log_end_offset(), Offset(4));
  });
}

TEST(ProducerSnapshot, RoundTripsAndKeepsKafkasLayout) {
  ProducerStateTable t;
  for (int32_t s = 0; s < 7; ++s) t.record(9, 1, {2 * s, 2 * s + 1, 100 + 2 * s, 101 + 2 * s, 5});
  t.record(11, 0, {2147483646, 1, 300, 303, 6});  // sequences wrap inside the batch
  const std::string bytes = encode_producer_snapshot(t);
  EXPECT_EQ(bytes.size(), kProducerSnapshotHeaderBytes + 6 * kProducerSnapshotEntryBytes);
  EXPECT_EQ(get_be(bytes.data(), 2), 1u);  // version
  auto back = decode_producer_snapshot(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->producers().size(), 2u);
  EXPECT_EQ(back->find(9)->batches, t.find(9)->batches);
  EXPECT_EQ(back->find(11)->batches, t.find(11)->batches);
  EXPECT_EQ(back->find(9)->epoch, 1);
}

TEST(ProducerSnapshot, DamageIsDataLoss) {
  ProducerStateTable t;
  t.record(9, 1, {0, 1, 100, 101, 5});
  const std::string good = encode_producer_snapshot(t);
  EXPECT_TRUE(absl::IsDataLoss(decode_producer_snapshot(good.substr(0, 5)).status()));
  EXPECT_TRUE(absl::IsDataLoss(decode_producer_snapshot(good.substr(0, good.size() - 1)).status()));
  std::string flipped = good;
  flipped[20] ^= 1;
  EXPECT_TRUE(absl::IsDataLoss(decode_producer_snapshot(flipped).status()));
  std::string version = good;
  version[1] = 2;
  EXPECT_TRUE(absl::IsDataLoss(decode_producer_snapshot(version).status()));
}

// Any bytes: an error or a table, never a crash, and nothing allocated for a count the bytes
// cannot hold (the count is checked against them first).
RC_GTEST_PROP(ProducerSnapshot, HostileBytesNeverCrash, (const std::string& junk)) {
  (void)decode_producer_snapshot(junk);
  ProducerStateTable t;
  t.record(1, 0, {0, 0, 0, 0, 0});
  std::string s = encode_producer_snapshot(t);
  const size_t at = *rc::gen::inRange<size_t>(0, s.size());
  s[at] = static_cast<char>(*rc::gen::arbitrary<uint8_t>());
  auto r = decode_producer_snapshot(s);
  RC_ASSERT(r.ok() || absl::IsDataLoss(r.status()));
}

}  // namespace
}  // namespace weir::broker::log
