// The sparse indexes against a model (RapidCheck), their file format, and a damaged index
// file on a trusted segment being rebuilt rather than believed.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/log/log_io.h"
#include "broker/log/offset_index.h"
#include "broker/log/partition_log.h"
#include "broker/log/time_index.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::log {
namespace {

using test::append_bytes;
using test::DiskHarness;
using test::make_batch;
using test::read_all;

RC_GTEST_PROP(OffsetIndexModel, LookupIsTheLargestEntryAtOrBelow, ()) {
  const Offset base(*rc::gen::inRange<int64_t>(0, 1'000'000));
  const auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
      rc::gen::pair(rc::gen::inRange(1, 50), rc::gen::inRange(1, 5000)));
  OffsetIndex index(base);
  std::vector<OffsetIndex::Entry> model;
  int64_t offset = base.value();
  uint32_t position = 0;
  for (const auto& [d_offset, d_position] : steps) {
    offset += d_offset;
    position += static_cast<uint32_t>(d_position);
    index.append(Offset(offset), position);
    model.push_back({Offset(offset), position});
  }
  for (int i = 0; i < 20; ++i) {
    const Offset target(base.value() + *rc::gen::inRange<int64_t>(0, offset - base.value() + 10));
    OffsetIndex::Entry want{base, 0};
    for (const auto& e : model) {
      if (e.offset <= target) want = e;
    }
    RC_ASSERT(index.lookup(target) == want);
  }
  auto decoded = OffsetIndex::decode(base, index.encode() + std::string(16, '\0'), UINT32_MAX);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(decoded->entries() == model);
  const Offset cut(base.value() + *rc::gen::inRange<int64_t>(0, offset - base.value() + 2));
  index.truncate_to(cut);
  model.erase(std::remove_if(model.begin(), model.end(),
                             [&](const OffsetIndex::Entry& e) { return e.offset >= cut; }),
              model.end());
  RC_ASSERT(index.entries() == model);
}

RC_GTEST_PROP(TimeIndexModel, LookupAndFirstAtOrAfter, ()) {
  const Offset base(100);
  const auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
      rc::gen::pair(rc::gen::inRange(-20, 50), rc::gen::inRange(0, 30)));
  TimeIndex index(base);
  std::vector<TimeIndex::Entry> model;
  int64_t ts = 1000;
  int64_t offset = base.value();
  for (const auto& [d_ts, d_offset] : steps) {
    ts += d_ts;
    offset += d_offset;
    index.maybe_append(ts, Offset(offset));
    if (model.empty() || ts > model.back().timestamp_ms) model.push_back({ts, Offset(offset)});
  }
  RC_ASSERT(index.entries() == model);
  for (int i = 0; i < 20; ++i) {
    const int64_t target = *rc::gen::inRange<int64_t>(900, ts + 100);
    TimeIndex::Entry want{-1, base};
    for (const auto& e : model) {
      if (e.timestamp_ms <= target) want = e;
    }
    RC_ASSERT(index.lookup(target) == want);
  }
  auto decoded = TimeIndex::decode(base, index.encode());
  RC_ASSERT(decoded.ok());
  RC_ASSERT(decoded->entries() == model);
}

TEST(IndexFormat, InconsistentFilesAreRejected) {
  OffsetIndex index(Offset(10));
  index.append(Offset(12), 100);
  index.append(Offset(15), 300);
  const std::string bytes = index.encode();
  EXPECT_EQ(bytes.size(), 16u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\0\0\0\x02\0\0\0\x64", 8));  // big-endian
  EXPECT_FALSE(OffsetIndex::decode(Offset(10), bytes.substr(0, 12), 1000).ok());
  EXPECT_FALSE(OffsetIndex::decode(Offset(10), bytes.substr(8) + bytes.substr(0, 8), 1000).ok());
  EXPECT_FALSE(OffsetIndex::decode(Offset(10), bytes, 200).ok());  // beyond the log
  TimeIndex t(Offset(0));
  t.maybe_append(50, Offset(3));
  t.maybe_append(40, Offset(4));  // not newer: ignored
  t.maybe_append(60, Offset(5));
  EXPECT_EQ(t.size(), 2u);
  const std::string tb = t.encode();
  EXPECT_FALSE(TimeIndex::decode(Offset(0), tb.substr(12) + tb.substr(0, 12)).ok());
}

// The broken idea "trust a sealed segment's index file": a garbage index must be rebuilt.
TEST(IndexRecovery, DamagedIndexOfTrustedSegmentIsRebuilt) {
  DiskHarness h(31);
  h.run([&] {
    LogConfig c;
    c.segment_bytes_max = 2000;
    c.index_interval_bytes = 100;
    const std::string dir = "/data/idx-0";
    auto log = *PartitionLog::open(h.disk(), h.clock(), dir, c, Offset(0));
    std::vector<std::string> appended;
    for (int i = 0; i < 30; ++i) {
      appended.push_back(make_batch(static_cast<uint64_t>(i), 2, 1000 + i));
      ASSERT_TRUE(append_bytes(*log, appended.back()).ok());
    }
    const Offset rp = log->recovery_point();
    ASSERT_TRUE(log->close().ok());
    log.reset();
    auto index =
        *h.disk().open(dir + "/" + segment_file_name(Offset(0), ".index"), OpenMode::kReadWrite);
    const std::string junk = "\x7f\x00\x00\x00\x00\x00\x00\x01";
    ASSERT_TRUE(index
                    ->write(0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(junk.data()),
                                                   junk.size()))
                    .ok());
    auto reopened = *PartitionLog::open(h.disk(), h.clock(), dir, c, rp);
    EXPECT_EQ(reopened->recovery_report().index_rebuilds, 1);
    EXPECT_EQ(read_all(*reopened), appended);
    for (int64_t o = 0; o < 60; ++o) {
      auto r = reopened->read(Offset(o), 1, Offset(60), true);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->records, appended[static_cast<size_t>(o / 2)]) << o;
    }
  });
}

}  // namespace
}  // namespace weir::broker::log
