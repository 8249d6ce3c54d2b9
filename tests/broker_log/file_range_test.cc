// PartitionLog reads as file ranges (ReadMode::kFileRange, what Fetch v4+ sends with
// sendfile): the range names the bytes the copying read returns (plus, at most, the start of
// one more batch, cut by bytes_max as Kafka's file slices are), and only bytes the segment has
// verified are ever named; VerifiedRanges' bookkeeping.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/log/partition_log.h"
#include "broker/log/segment.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::log {
namespace {

using test::append_bytes;
using test::DiskHarness;
using test::make_batch;

constexpr char kDir[] = "/data/topic-0";

LogConfig small_config() {
  LogConfig c;
  c.segment_bytes_max = 3000;
  c.index_interval_bytes = 300;
  return c;
}

std::unique_ptr<PartitionLog> open_log(DiskHarness& h, Offset recovery_point = Offset(0)) {
  auto log = PartitionLog::open(h.disk(), h.clock(), kDir, small_config(), recovery_point);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

void append_n(PartitionLog& log, int n) {
  for (int i = 0; i < n; ++i) {
    std::string b = make_batch(static_cast<uint64_t>(i), 1 + i % 4, 1000 + i, 20 + (i * 37) % 90);
    ASSERT_TRUE(append_bytes(log, b).ok());
  }
}

// The bytes a read hands over, whichever way.
std::string bytes_of(const ReadResult& r) {
  if (r.file == nullptr) return r.records;
  std::string out(r.size_bytes, '\0');
  auto n = r.file->read(r.file_position,
                        absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  EXPECT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n.value_or(0), out.size());
  return out;
}

TEST(FileRange, NamesTheBytesTheCopyingReadReturns) {
  DiskHarness h(1);
  h.run([&] {
    auto log = open_log(h);
    append_n(*log, 60);
    ASSERT_GT(log->segment_count(), 3u);
    const int64_t end = log->log_end_offset().value();
    int ranges = 0;
    for (int64_t start = 0; start < end; start += 7) {
      for (int32_t bytes_max : {0, 50, 400, 1000, 1 << 20}) {
        for (int64_t hw : {start + 1, start + 9, end}) {
          for (bool min_one : {false, true}) {
            const Offset high(std::min(hw, end));
            auto copy = log->read(Offset(start), bytes_max, high, min_one, ReadMode::kCopy);
            auto file = log->read(Offset(start), bytes_max, high, min_one, ReadMode::kFileRange);
            ASSERT_TRUE(copy.ok()) << copy.status();
            ASSERT_TRUE(file.ok()) << file.status();
            ASSERT_EQ(copy->file, nullptr);
            const std::string whole = copy->records;
            const std::string got = bytes_of(*file);
            if (whole.empty()) {
              EXPECT_TRUE(got.empty()) << start << " " << bytes_max << " " << hw;
              continue;
            }
            ASSERT_NE(file->file, nullptr) << "appended bytes are verified";
            ++ranges;
            EXPECT_EQ(file->file_position, copy->file_position);
            ASSERT_GE(got.size(), whole.size());
            EXPECT_EQ(got.substr(0, whole.size()), whole);
            // Beyond the whole batches only the start of one more, within the limits.
            if (got.size() > whole.size()) {
              EXPECT_LE(got.size(), static_cast<size_t>(bytes_max));
              auto next = parse_batch_header(got.substr(whole.size()));
              if (next.ok()) {
                EXPECT_LT(got.size() - whole.size(), next->size_bytes());
                EXPECT_LT(next->base(), high);
              }
            }
          }
        }
      }
    }
    EXPECT_GT(ranges, 100);
  });
}

// After a restart, bytes of trusted segments (below the recovery point, not CRC-checked by
// recovery) are read and checked once before any read names them; the validated last segment
// is served by range at once.
TEST(FileRange, TrustedSegmentsAreCheckedOnceBeforeTheyAreNamed) {
  DiskHarness h(2);
  h.run([&] {
    auto log = open_log(h);
    append_n(*log, 60);
    ASSERT_TRUE(log->flush().ok());
    const Offset rp = log->recovery_point();
    const std::vector<Offset> bases = log->segment_base_offsets();
    ASSERT_TRUE(log->close().ok());
    auto reopened = open_log(h, rp);
    EXPECT_EQ(reopened->recovery_report().segments_validated, 1);
    const Offset end = reopened->log_end_offset();
    auto first = reopened->read(Offset(0), 1 << 20, end, true, ReadMode::kFileRange);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->file, nullptr) << "a trusted segment's bytes must be checked first";
    auto second = reopened->read(Offset(0), 1 << 20, end, true, ReadMode::kFileRange);
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_NE(second->file, nullptr) << "checked bytes are verified from then on";
    EXPECT_EQ(bytes_of(*second), first->records);
    // A read inside the checked range is served by range; one reaching past it is not.
    auto inner = reopened->read(Offset(2), 200, end, true, ReadMode::kFileRange);
    ASSERT_TRUE(inner.ok());
    EXPECT_NE(inner->file, nullptr);
    auto last = reopened->read(bases.back(), 1 << 20, end, true, ReadMode::kFileRange);
    ASSERT_TRUE(last.ok());
    EXPECT_NE(last->file, nullptr) << "recovery validated the last segment";
  });
}

// A trusted segment corrupted at rest: the check before the first range catches it, and no
// later read names the bytes.
TEST(FileRange, CorruptBytesAtRestAreNeverNamed) {
  DiskHarness h(3);
  h.run([&] {
    auto log = open_log(h);
    append_n(*log, 60);
    ASSERT_TRUE(log->flush().ok());
    const Offset rp = log->recovery_point();
    ASSERT_TRUE(log->close().ok());
    {
      auto f = h.disk().open(std::string(kDir) + "/00000000000000000000.log", OpenMode::kReadWrite);
      ASSERT_TRUE(f.ok());
      uint8_t byte = 0;
      ASSERT_TRUE((*f)->read(100, absl::MakeSpan(&byte, 1)).ok());
      byte ^= 0x10;
      ASSERT_TRUE((*f)->write(100, absl::MakeConstSpan(&byte, 1)).ok());
    }
    auto reopened = open_log(h, rp);
    for (int i = 0; i < 3; ++i) {
      auto r = reopened->read(Offset(0), 1 << 20, reopened->log_end_offset(), true,
                              ReadMode::kFileRange);
      ASSERT_FALSE(r.ok() && r->file != nullptr) << "corrupt bytes named as a file range";
      if (r.ok()) {
        // Batches before the damaged one may be served; never the damaged one.
        EXPECT_LT(r->records.size(), 100u);
      } else {
        EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
      }
    }
  });
}

TEST(FileRange, TruncationForgetsWhatWasVerifiedBeyondTheCut) {
  DiskHarness h(4);
  h.run([&] {
    auto log = open_log(h);
    append_n(*log, 10);
    ASSERT_TRUE(log->truncate_to(Offset(5)).ok());
    std::string b = make_batch(99, 2, 5000);
    ASSERT_TRUE(append_bytes(*log, b).ok());
    auto r = log->read(Offset(0), 1 << 20, log->log_end_offset(), true, ReadMode::kFileRange);
    ASSERT_TRUE(r.ok());
    ASSERT_NE(r->file, nullptr);
    auto copy = log->read(Offset(0), 1 << 20, log->log_end_offset(), true, ReadMode::kCopy);
    EXPECT_EQ(bytes_of(*r), copy->records);
  });
}

TEST(VerifiedRanges, MergesContainsTruncatesAndIsBounded) {
  VerifiedRanges v;
  EXPECT_TRUE(v.contains(5, 5));
  EXPECT_FALSE(v.contains(0, 1));
  v.add(10, 20);
  v.add(30, 40);
  EXPECT_TRUE(v.contains(10, 20));
  EXPECT_TRUE(v.contains(12, 18));
  EXPECT_FALSE(v.contains(9, 12));
  EXPECT_FALSE(v.contains(15, 35));
  v.add(20, 30);  // adjacent on both sides: one range
  EXPECT_EQ(v.range_count(), 1u);
  EXPECT_TRUE(v.contains(10, 40));
  v.add(5, 12);
  v.add(38, 50);
  EXPECT_EQ(v.range_count(), 1u);
  EXPECT_TRUE(v.contains(5, 50));
  v.truncate(25);
  EXPECT_TRUE(v.contains(5, 25));
  EXPECT_FALSE(v.contains(5, 26));
  v.truncate(0);
  EXPECT_EQ(v.range_count(), 0u);
  for (uint64_t i = 0; i < VerifiedRanges::kRangesMax + 10; ++i) v.add(i * 10, i * 10 + 5);
  EXPECT_EQ(v.range_count(), VerifiedRanges::kRangesMax);
  EXPECT_FALSE(v.contains(VerifiedRanges::kRangesMax * 10, VerifiedRanges::kRangesMax * 10 + 1));
  v.add(0, VerifiedRanges::kRangesMax * 10 + 200);  // merging is always possible
  EXPECT_EQ(v.range_count(), 1u);
}

}  // namespace
}  // namespace weir::broker::log
