// TxnLog with the power on: appends, reads, truncation, purging, rolling, recovery of damaged
// files, the failure policy, and concurrent callers. Crashes: storage_crash_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coord/zab/storage/storage_io.h"
#include "coord/zab/storage/txn_log.h"
#include "tests/coord/storage_test_util.h"

namespace weir::coord::zab {
namespace {

using storage_test::bytes_of;
using storage_test::DiskHarness;
using storage_test::EventCounter;
using storage_test::payload_for;
using storage_test::read_all;

constexpr char kDir[] = "/data/log";

TxnLogOptions small_segments() {
  TxnLogOptions o;
  o.segment_bytes_max = 1024;
  o.write_buffer_bytes = 200;
  o.read_buffer_bytes = 128;
  o.index_interval_bytes = 100;
  return o;
}

std::unique_ptr<TxnLog> open_log(sim::SimDisk& disk, TxnLogOptions options = {}) {
  auto log = TxnLog::open(disk, kDir, options);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

// Appends records zxid first..last with sizes varying by zxid.
void append_range(TxnLog& log, int64_t first, int64_t last) {
  for (int64_t z = first; z <= last; ++z) {
    ASSERT_TRUE(log.append(Zxid(z), payload_for(Zxid(z), 0, static_cast<size_t>(z % 37))).ok());
  }
}

void expect_range(const std::vector<TxnLogEntry>& entries, int64_t first, int64_t last) {
  ASSERT_EQ(entries.size(), static_cast<size_t>(last - first + 1));
  for (size_t i = 0; i < entries.size(); ++i) {
    const Zxid z(first + static_cast<int64_t>(i));
    EXPECT_EQ(entries[i].zxid, z);
    EXPECT_EQ(entries[i].payload, payload_for(z, 0, static_cast<size_t>(z.value() % 37)));
  }
}

class TxnLogTest : public ::testing::Test {
 protected:
  DiskHarness h_{7};
};

TEST_F(TxnLogTest, EmptyLog) {
  h_.run([&] {
    auto log = open_log(h_.disk());
    EXPECT_EQ(log->last_zxid(), Zxid(0));
    EXPECT_EQ(log->first_zxid(), Zxid(0));
    EXPECT_TRUE(read_all(*log).empty());
    EXPECT_TRUE(log->sync().ok());
    EXPECT_TRUE(log->truncate_after(Zxid(5)).ok());
    EXPECT_TRUE(log->purge_before(Zxid(5)).ok());
    EXPECT_EQ(log->segment_count(), 0u);
  });
}

TEST_F(TxnLogTest, AppendSyncReopen) {
  h_.run([&] {
    {
      auto log = open_log(h_.disk());
      append_range(*log, 1, 100);
      EXPECT_EQ(log->last_zxid(), Zxid(100));
      ASSERT_TRUE(log->sync().ok());
    }
    auto log = open_log(h_.disk());
    EXPECT_EQ(log->first_zxid(), Zxid(1));
    EXPECT_EQ(log->last_zxid(), Zxid(100));
    expect_range(read_all(*log), 1, 100);
    append_range(*log, 101, 120);  // appends go on after a reopen
    ASSERT_TRUE(log->sync().ok());
    expect_range(read_all(*log), 1, 120);
  });
}

TEST_F(TxnLogTest, RecordFormatOnDisk) {
  h_.run([&] {
    auto log = open_log(h_.disk());
    ASSERT_TRUE(log->append(make_zxid(2, 7), bytes_of("abc")).ok());
    ASSERT_TRUE(log->sync().ok());
    auto file = read_file(h_.disk(), "/data/log/log.0000000200000007", 1 << 20);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_EQ(file->size(), TxnLog::kHeaderBytes + 3);
    EXPECT_EQ(load_u32(file->data() + 4), 3u);
    EXPECT_EQ(load_u64(file->data() + 8), static_cast<uint64_t>(make_zxid(2, 7).value()));
    EXPECT_EQ(load_u32(file->data()), crc32c(file->data() + 4, file->size() - 4));
    EXPECT_EQ(std::string(file->begin() + 16, file->end()), "abc");
  });
}

TEST_F(TxnLogTest, ReadFromPagesByBytesAndSeesUnsyncedAppends) {
  h_.run([&] {
    auto log = open_log(h_.disk(), small_segments());
    append_range(*log, 1, 60);  // several segments, not synced
    auto tail = log->read_from(Zxid(40), UINT64_MAX);
    ASSERT_TRUE(tail.ok());
    expect_range(*tail, 41, 60);
    // Paging with a small budget returns at least one record per call and nothing twice.
    std::vector<TxnLogEntry> all;
    Zxid after(0);
    for (int calls = 0; calls < 100; ++calls) {
      auto page = log->read_from(after, 50);
      ASSERT_TRUE(page.ok());
      if (page->empty()) break;
      uint64_t bytes = 0;
      for (auto& e : *page) bytes += e.payload.size();
      EXPECT_TRUE(page->size() == 1 || bytes <= 50);
      after = page->back().zxid;
      for (auto& e : *page) all.push_back(std::move(e));
    }
    expect_range(all, 1, 60);
    EXPECT_TRUE(log->read_from(Zxid(60), UINT64_MAX)->empty());
  });
}

TEST_F(TxnLogTest, NonConsecutiveZxidsAcrossEpochs) {
  h_.run([&] {
    std::vector<Zxid> zxids = {make_zxid(1, 1), make_zxid(1, 2), make_zxid(3, 1), make_zxid(3, 9),
                               make_zxid(4, 1)};
    {
      auto log = open_log(h_.disk(), small_segments());
      for (Zxid z : zxids) ASSERT_TRUE(log->append(z, payload_for(z, 0, 300)).ok());
      ASSERT_TRUE(log->sync().ok());
    }
    auto log = open_log(h_.disk(), small_segments());
    auto from = log->read_from(make_zxid(3, 0), UINT64_MAX);
    ASSERT_TRUE(from.ok());
    ASSERT_EQ(from->size(), 3u);
    EXPECT_EQ((*from)[0].zxid, make_zxid(3, 1));
    EXPECT_EQ((*from)[2].payload, payload_for(make_zxid(4, 1), 0, 300));
  });
}

TEST_F(TxnLogTest, RollsSegmentsAndBigRecordsGetTheirOwn) {
  h_.run([&] {
    {
      auto log = open_log(h_.disk(), small_segments());
      append_range(*log, 1, 100);
      ASSERT_TRUE(log->append(Zxid(101), payload_for(Zxid(101), 0, 3000)).ok());
      append_range(*log, 102, 103);
      ASSERT_TRUE(log->sync().ok());
      EXPECT_GT(log->segment_count(), 3u);
    }
    auto names = h_.disk().list(kDir);
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(names->front(), "log.0000000000000001");
    EXPECT_TRUE(h_.disk().exists("/data/log/log.0000000000000065"));  // zxid 101 alone
    EXPECT_TRUE(h_.disk().exists("/data/log/log.0000000000000066"));
    for (const auto& name : *names) {
      auto size = read_file(h_.disk(), std::string(kDir) + "/" + name, 1 << 20)->size();
      EXPECT_TRUE(size <= 1024 || name == "log.0000000000000065") << name << " " << size;
    }
    auto log = open_log(h_.disk(), small_segments());
    EXPECT_EQ(log->segment_count(), names->size());
    auto all = read_all(*log);
    ASSERT_EQ(all.size(), 103u);
    EXPECT_EQ(all[100].payload.size(), 3000u);
  });
}

TEST_F(TxnLogTest, TruncateAfterWithinAndAcrossSegments) {
  h_.run([&] {
    auto log = open_log(h_.disk(), small_segments());
    append_range(*log, 1, 100);
    ASSERT_TRUE(log->sync().ok());
    const size_t segments = log->segment_count();
    ASSERT_TRUE(log->truncate_after(Zxid(95)).ok());  // inside the last segment
    EXPECT_EQ(log->last_zxid(), Zxid(95));
    ASSERT_TRUE(log->truncate_after(Zxid(30)).ok());  // drops whole segments
    EXPECT_EQ(log->last_zxid(), Zxid(30));
    EXPECT_LT(log->segment_count(), segments);
    expect_range(read_all(*log), 1, 30);
    // ZAB's TRUNC is followed by the new leader's records, which reuse the dropped zxids.
    for (int64_t z = 31; z <= 40; ++z) {
      ASSERT_TRUE(log->append(Zxid(z), payload_for(Zxid(z), 1, 20)).ok());
    }
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_log(h_.disk(), small_segments());
    auto all = read_all(*log);
    ASSERT_EQ(all.size(), 40u);
    EXPECT_EQ(all[35].payload, payload_for(Zxid(36), 1, 20));
    ASSERT_TRUE(log->truncate_after(Zxid(0)).ok());  // everything
    EXPECT_EQ(log->last_zxid(), Zxid(0));
    EXPECT_EQ(log->segment_count(), 0u);
    ASSERT_TRUE(log->append(Zxid(7), bytes_of("x")).ok());
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_log(h_.disk(), small_segments());
    EXPECT_EQ(log->first_zxid(), Zxid(7));
    EXPECT_EQ(log->last_zxid(), Zxid(7));
  });
}

TEST_F(TxnLogTest, TruncateAfterDropsUnflushedRecords) {
  h_.run([&] {
    auto log = open_log(h_.disk());  // a big write buffer: nothing written yet
    append_range(*log, 1, 10);
    ASSERT_TRUE(log->truncate_after(Zxid(4)).ok());
    append_range(*log, 5, 6);
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_log(h_.disk());
    expect_range(read_all(*log), 1, 6);
  });
}

TEST_F(TxnLogTest, PurgeBeforeRemovesOnlyWholeOlderSegments) {
  h_.run([&] {
    auto log = open_log(h_.disk(), small_segments());
    append_range(*log, 1, 100);
    ASSERT_TRUE(log->sync().ok());
    const size_t segments = log->segment_count();
    ASSERT_TRUE(log->purge_before(Zxid(50)).ok());
    EXPECT_LT(log->segment_count(), segments);
    const Zxid first = log->first_zxid();
    EXPECT_GT(first, Zxid(1));
    EXPECT_LE(first, Zxid(50));  // the segment holding 50 stays
    auto all = read_all(*log);
    expect_range(all, first.value(), 100);
    ASSERT_TRUE(log->purge_before(Zxid(1000)).ok());  // never the last segment
    EXPECT_EQ(log->segment_count(), 1u);
    EXPECT_EQ(log->last_zxid(), Zxid(100));
    const Zxid kept = log->first_zxid();
    log.reset();
    log = open_log(h_.disk(), small_segments());
    EXPECT_EQ(log->first_zxid(), kept);
    expect_range(read_all(*log), kept.value(), 100);
  });
}

TEST_F(TxnLogTest, PayloadOverTheBoundIsRefused) {
  h_.run([&] {
    TxnLogOptions options;
    options.payload_bytes_max = 100;
    auto log = open_log(h_.disk(), options);
    EXPECT_EQ(log->append(Zxid(1), std::vector<uint8_t>(101)).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(log->append(Zxid(1), std::vector<uint8_t>(100)).ok());  // still usable
    EXPECT_TRUE(log->sync().ok());
    TxnLogOptions bad;
    bad.read_attempts_max = 1;
    EXPECT_EQ(TxnLog::open(h_.disk(), kDir, bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  });
}

TEST_F(TxnLogTest, ForeignFilesAreIgnored) {
  h_.run([&] {
    ASSERT_TRUE(h_.disk().create_directories(kDir).ok());
    auto f = h_.disk().open("/data/log/README", OpenMode::kCreate);
    ASSERT_TRUE((*f)->write(0, bytes_of("notes")).ok());
    auto log = open_log(h_.disk());
    append_range(*log, 1, 3);
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_log(h_.disk());
    expect_range(read_all(*log), 1, 3);
    EXPECT_TRUE(h_.disk().exists("/data/log/README"));
  });
}

// ---------------------------------------------------------------------------------------------
// Recovery of damaged files

// Writes raw bytes into a segment file (damage a crash or a bad disk could leave).
void damage(sim::SimDisk& disk, const std::string& path, uint64_t offset,
            const std::vector<uint8_t>& bytes) {
  auto f = disk.open(path, OpenMode::kCreate);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->write(offset, bytes).ok());
  ASSERT_TRUE((*f)->sync().ok());
}

std::vector<uint8_t> encode_record(Zxid zxid, const std::string& payload) {
  std::vector<uint8_t> rec(TxnLog::kHeaderBytes + payload.size());
  store_u32(rec.data() + 4, static_cast<uint32_t>(payload.size()));
  store_u64(rec.data() + 8, static_cast<uint64_t>(zxid.value()));
  std::copy(payload.begin(), payload.end(), rec.begin() + TxnLog::kHeaderBytes);
  store_u32(rec.data(), crc32c(rec.data() + 4, rec.size() - 4));
  return rec;
}

uint64_t file_size(sim::SimDisk& disk, const std::string& path) {
  auto f = disk.open(path, OpenMode::kRead);
  return f.ok() ? *(*f)->size() : 0;
}

TEST_F(TxnLogTest, GarbageTailIsCutAndLogAcceptsAppends) {
  EventCounter truncated;
  truncated.type_filter = "TxnLogTruncated";
  h_.run([&] {
    const std::string seg = "/data/log/log.0000000000000001";
    {
      auto log = open_log(h_.disk());
      append_range(*log, 1, 20);
      ASSERT_TRUE(log->sync().ok());
    }
    const uint64_t valid = file_size(h_.disk(), seg);
    damage(h_.disk(), seg, valid, std::vector<uint8_t>(100, 0xab));
    {
      auto log = open_log(h_.disk());
      EXPECT_EQ(log->last_zxid(), Zxid(20));
      EXPECT_EQ(file_size(h_.disk(), seg), valid);  // cut durably
      append_range(*log, 21, 25);
      ASSERT_TRUE(log->sync().ok());
    }
    auto log = open_log(h_.disk());
    expect_range(read_all(*log), 1, 25);
  });
  EXPECT_EQ(truncated.count, 1u);
}

TEST_F(TxnLogTest, DamagedRecordCutsItsSegmentAndRemovesLaterOnes) {
  h_.run([&] {
    {
      auto log = open_log(h_.disk(), small_segments());
      append_range(*log, 1, 100);
      ASSERT_TRUE(log->sync().ok());
    }
    auto names = *h_.disk().list(kDir);
    ASSERT_GT(names.size(), 3u);
    // Flip a CRC bit of the second record of the second segment.
    const std::string seg = std::string(kDir) + "/" + names[1];
    auto bytes = *read_file(h_.disk(), seg, 1 << 20);
    const uint64_t second = TxnLog::kHeaderBytes + load_u32(bytes.data() + 4);
    const Zxid first(static_cast<int64_t>(load_u64(bytes.data() + 8)));
    damage(h_.disk(), seg, second + 1, {static_cast<uint8_t>(bytes[second + 1] ^ 0x10)});
    auto log = open_log(h_.disk(), small_segments());
    EXPECT_EQ(log->last_zxid(), first);
    EXPECT_EQ(log->segment_count(), 2u);
    EXPECT_EQ(h_.disk().list(kDir)->size(), 2u);
    EXPECT_EQ(file_size(h_.disk(), seg), second);
    expect_range(read_all(*log), 1, first.value());
  });
}

TEST_F(TxnLogTest, HugeLengthFieldIsDamageNotAnAllocation) {
  h_.run([&] {
    const std::string seg = "/data/log/log.0000000000000001";
    {
      auto log = open_log(h_.disk());
      append_range(*log, 1, 5);
      ASSERT_TRUE(log->sync().ok());
    }
    const uint64_t valid = file_size(h_.disk(), seg);
    std::vector<uint8_t> header(TxnLog::kHeaderBytes, 0);
    store_u32(header.data() + 4, 0xfffffff0u);  // a 4 GiB record
    store_u64(header.data() + 8, 6);
    damage(h_.disk(), seg, valid, header);
    auto log = open_log(h_.disk());
    EXPECT_EQ(log->last_zxid(), Zxid(5));
    EXPECT_EQ(file_size(h_.disk(), seg), valid);
  });
}

TEST_F(TxnLogTest, ValidRecordWithOldZxidIsDamage) {
  h_.run([&] {
    const std::string seg = "/data/log/log.0000000000000001";
    {
      auto log = open_log(h_.disk());
      append_range(*log, 1, 5);
      ASSERT_TRUE(log->sync().ok());
    }
    // A well-formed record for zxid 3 after zxid 5: stale bytes, not history.
    const uint64_t valid = file_size(h_.disk(), seg);
    auto stale = encode_record(Zxid(3), "abc");
    const auto next = encode_record(Zxid(6), "def");
    stale.insert(stale.end(), next.begin(), next.end());
    damage(h_.disk(), seg, valid, stale);
    auto log = open_log(h_.disk());
    EXPECT_EQ(log->last_zxid(), Zxid(5));
    EXPECT_EQ(file_size(h_.disk(), seg), valid);
  });
}

TEST_F(TxnLogTest, EmptyOrMisnamedSegmentsAreRemoved) {
  h_.run([&] {
    {
      auto log = open_log(h_.disk());
      append_range(*log, 1, 5);
      ASSERT_TRUE(log->sync().ok());
    }
    // An empty segment (created, crashed before its first record) and one whose first record
    // is not the zxid its name says.
    ASSERT_TRUE(h_.disk().open("/data/log/log.0000000000000009", OpenMode::kCreate).ok());
    auto log = open_log(h_.disk());
    EXPECT_EQ(log->last_zxid(), Zxid(5));
    EXPECT_FALSE(h_.disk().exists("/data/log/log.0000000000000009"));
    log.reset();
    auto bytes = *read_file(h_.disk(), "/data/log/log.0000000000000001", 1 << 20);
    damage(h_.disk(), "/data/log/log.0000000000000007", 0, bytes);  // holds zxids 1..5
    log = open_log(h_.disk());
    EXPECT_EQ(log->last_zxid(), Zxid(5));
    EXPECT_FALSE(h_.disk().exists("/data/log/log.0000000000000007"));
  });
}

TEST_F(TxnLogTest, CorruptedReadsNeverCutValidRecords) {
  h_.run([&] {
    {
      auto log = open_log(h_.disk(), small_segments());
      append_range(*log, 1, 200);
      ASSERT_TRUE(log->sync().ok());
    }
    h_.disk().set_faults(sim::DiskFaults{.corrupt_read_probability = 0.3});
    for (int i = 0; i < 3; ++i) {
      auto log = open_log(h_.disk(), small_segments());
      ASSERT_EQ(log->last_zxid(), Zxid(200));
      expect_range(read_all(*log), 1, 200);
    }
    EXPECT_GT(h_.disk().stats().corrupted_reads, 10u);
    // When every read is corrupted, reads never agree: open refuses rather than cut.
    h_.disk().set_faults(sim::DiskFaults{.corrupt_read_probability = 1});
    EXPECT_EQ(TxnLog::open(h_.disk(), kDir, small_segments()).status().code(),
              absl::StatusCode::kUnavailable);
    h_.disk().set_faults({});
    auto log = open_log(h_.disk(), small_segments());
    expect_range(read_all(*log), 1, 200);
  });
}

// ---------------------------------------------------------------------------------------------
// Failure policy and concurrency

TEST_F(TxnLogTest, FailedSyncFailsTheLogUntilReopened) {
  EventCounter failed;
  failed.type_filter = "TxnLogFailed";
  h_.run([&] {
    auto log = open_log(h_.disk());
    append_range(*log, 1, 10);
    ASSERT_TRUE(log->sync().ok());
    append_range(*log, 11, 20);
    h_.disk().set_faults(sim::DiskFaults{.sync_error_probability = 1});
    const absl::Status failure = log->sync();
    ASSERT_FALSE(failure.ok());
    h_.disk().set_faults({});
    // A second fsync would now "succeed" without writing the dropped pages: refuse it.
    EXPECT_EQ(log->sync(), failure);
    EXPECT_EQ(log->append(Zxid(21), bytes_of("x")), failure);
    EXPECT_EQ(log->truncate_after(Zxid(5)), failure);
    EXPECT_EQ(log->read_from(Zxid(0), 100).status(), failure);
    EXPECT_EQ(log->failure(), failure);
    log.reset();
    log = open_log(h_.disk());
    auto all = read_all(*log);
    ASSERT_GE(all.size(), 10u);
    expect_range(all, 1, static_cast<int64_t>(all.size()));
    append_range(*log, log->last_zxid().value() + 1, 30);
    EXPECT_TRUE(log->sync().ok());
  });
  EXPECT_EQ(failed.count, 1u);
}

TEST_F(TxnLogTest, FailedWriteFailsTheLog) {
  h_.run([&] {
    TxnLogOptions options;
    options.write_buffer_bytes = 16;  // every append writes
    auto log = open_log(h_.disk(), options);
    append_range(*log, 1, 3);
    h_.disk().set_faults(sim::DiskFaults{.write_error_probability = 1});
    EXPECT_FALSE(log->append(Zxid(4), bytes_of("abc")).ok());
    h_.disk().set_faults({});
    EXPECT_FALSE(log->sync().ok());
    EXPECT_FALSE(log->failure().ok());
  });
}

TEST_F(TxnLogTest, CancelledSyncFailsTheLog) {
  std::unique_ptr<TxnLog> log;
  h_.run([&] {
    log = open_log(h_.disk());
    append_range(*log, 1, 10);
  });
  {
    auto syncer = spawn("syncer", [&] { (void)log->sync(); });
    h_.run([&] { delay(500us); });  // the fsync is sleeping: drop (cancel) the syncer
  }
  h_.run([&] {
    delay(10ms);  // the syncer unwinds
    EXPECT_EQ(log->failure().code(), absl::StatusCode::kAborted);
    EXPECT_EQ(log->sync().code(), absl::StatusCode::kAborted);
    log.reset();
  });
}

// Group commit: sync() holds no lock during its fsync, so a proposer appending meanwhile is
// not held up by the disk (the next sync covers its records).
TEST_F(TxnLogTest, AppendsDuringASyncDoNotWaitForIt) {
  h_.run([&] {
    auto log = open_log(h_.disk());
    append_range(*log, 1, 10);
    Future<void> syncing = spawn("sync", [&] { return log->sync(); });
    delay(200us);  // past the flush (a cached write), inside the fsync (at least 1 ms)
    ASSERT_FALSE(syncing.is_ready());
    const TimePoint before = Scheduler::current().now();
    append_range(*log, 11, 20);
    EXPECT_EQ(Scheduler::current().now(), before);
    EXPECT_FALSE(syncing.is_ready());
    ASSERT_TRUE(await(syncing).ok());
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_log(h_.disk());
    expect_range(read_all(*log), 1, 20);
  });
}

// A roll closes the file being synced, so it waits for the running fsync to finish.
TEST_F(TxnLogTest, RollDuringASyncWaitsForIt) {
  h_.run([&] {
    auto log = open_log(h_.disk(), small_segments());
    int64_t z = 1;
    while (log->segment_count() < 2) {  // into the second segment
      append_range(*log, z, z);
      ++z;
    }
    const size_t segments = log->segment_count();
    Future<void> syncing = spawn("sync", [&] { return log->sync(); });
    delay(200us);
    ASSERT_FALSE(syncing.is_ready());
    while (log->segment_count() == segments) {
      append_range(*log, z, z);
      ++z;
      if (log->segment_count() == segments) {
        EXPECT_FALSE(syncing.is_ready());
      }
    }
    EXPECT_TRUE(syncing.is_ready());  // the rolling append waited for it
    ASSERT_TRUE(syncing.get().ok());
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_log(h_.disk(), small_segments());
    expect_range(read_all(*log), 1, z - 1);
  });
}

TEST_F(TxnLogTest, ConcurrentCallersAreSerialized) {
  h_.run([&] {
    auto log = open_log(h_.disk(), small_segments());
    std::vector<Future<void>> actors;
    // Two writers take turns by zxid parity; a reader pages through meanwhile.
    int64_t next = 1;
    for (int w = 0; w < 2; ++w) {
      actors.push_back(spawn("writer", [&, w] {
        while (next <= 200) {
          if (next % 2 != w) {
            delay(10us);  // virtual time only moves when every actor waits
            continue;
          }
          const Zxid z(next++);
          ASSERT_TRUE(log->append(z, payload_for(z, 0, static_cast<size_t>(z.value() % 37))).ok());
          if (z.value() % 7 == 0) {
            ASSERT_TRUE(log->sync().ok());
          }
        }
      }));
    }
    actors.push_back(spawn("reader", [&] {
      Zxid after(0);
      while (after < Zxid(200)) {
        auto page = log->read_from(after, 100);
        ASSERT_TRUE(page.ok()) << page.status();
        for (const auto& e : *page) {
          ASSERT_GT(e.zxid, after);
          ASSERT_EQ(e.payload, payload_for(e.zxid, 0, static_cast<size_t>(e.zxid.value() % 37)));
          after = e.zxid;
        }
        if (page->empty()) delay(100us);
      }
    }));
    ASSERT_TRUE(await(when_all(actors)).ok());
    for (auto& a : actors) ASSERT_TRUE(a.get().ok());
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_log(h_.disk(), small_segments());
    expect_range(read_all(*log), 1, 200);
  });
}

}  // namespace
}  // namespace weir::coord::zab
