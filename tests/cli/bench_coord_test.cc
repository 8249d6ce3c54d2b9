// The pieces of `weir bench coord` that need no servers: the latency histogram's buckets and
// percentiles, and argument parsing. (The whole command runs against real servers in
// tests/coord/bench_smoke_test.sh.)
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cli/bench_coord.h"
#include "cli/latency_histogram.h"

namespace weir::cli {
namespace {

TEST(LatencyHistogram, BucketsAreContiguousAndCoverEveryValue) {
  for (size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
    ASSERT_LE(LatencyHistogram::bucket_lowest(b), LatencyHistogram::bucket_highest(b)) << b;
    ASSERT_EQ(LatencyHistogram::bucket_highest(b) + 1, LatencyHistogram::bucket_lowest(b + 1)) << b;
    ASSERT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::bucket_lowest(b)), b);
    ASSERT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::bucket_highest(b)), b);
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::bucket_highest(LatencyHistogram::kBuckets - 1), UINT64_MAX);
}

RC_GTEST_PROP(LatencyHistogram, BucketWidthBoundsTheRelativeError, (uint64_t value)) {
  const size_t b = LatencyHistogram::bucket_of(value);
  const uint64_t lo = LatencyHistogram::bucket_lowest(b), hi = LatencyHistogram::bucket_highest(b);
  RC_ASSERT(lo <= value);
  RC_ASSERT(value <= hi);
  RC_ASSERT(static_cast<double>(hi - lo) <= static_cast<double>(lo) / 64.0);
}

RC_GTEST_PROP(LatencyHistogram, PercentilesAreWithinOneBucketOfExact, ()) {
  const auto samples = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<int64_t>>(rc::gen::inRange<int64_t>(0, 50'000'000)));
  LatencyHistogram h;
  for (int64_t s : samples) h.record(s);
  auto sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * sorted.size())));
    const int64_t exact = sorted[rank - 1];
    const int64_t got = h.percentile_ns(q);
    RC_ASSERT(got >= exact);
    RC_ASSERT(static_cast<double>(got - exact) <= static_cast<double>(exact) / 64.0 + 1);
  }
  RC_ASSERT(h.max_ns() == sorted.back());
  RC_ASSERT(h.count() == samples.size());
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  for (int i = 1; i <= 100; ++i) a.record(i * 1000);
  for (int i = 101; i <= 200; ++i) b.record(i * 1000);
  a.merge(b);
  EXPECT_EQ(a.count(), 200u);
  EXPECT_EQ(a.max_ns(), 200'000);
  EXPECT_EQ(a.min_ns(), 1000);
  EXPECT_NEAR(static_cast<double>(a.percentile_ns(0.5)), 100'000, 100'000 / 64.0);
  EXPECT_EQ(LatencyHistogram().percentile_ns(0.99), 0);
}

TEST(BenchCoordArgs, ParsesAndValidates) {
  auto o = parse_bench_coord_args({"--servers", "127.0.0.1:2181", "--op", "get", "--sessions", "4",
                                   "--outstanding", "2", "--ops", "1000", "--json"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->op, BenchOp::kGet);
  EXPECT_EQ(o->sessions, 4u);
  EXPECT_EQ(o->outstanding, 2u);
  EXPECT_EQ(o->ops, 1000u);
  EXPECT_TRUE(o->json);
  EXPECT_FALSE(parse_bench_coord_args({"--op", "get"}).ok());  // no servers
  EXPECT_FALSE(parse_bench_coord_args({"--servers", "a:1", "--op", "scan"}).ok());
  EXPECT_FALSE(parse_bench_coord_args({"--servers", "a:1", "--sessions", "0"}).ok());
  EXPECT_FALSE(parse_bench_coord_args({"--servers", "a:1", "--read-ratio", "1.5"}).ok());
  EXPECT_FALSE(parse_bench_coord_args({"--servers", "a:1", "--root", "/a/"}).ok());
  EXPECT_FALSE(parse_bench_coord_args({"--servers", "a:1", "--sessions"}).ok());
}

TEST(BenchCoordReport, JsonCarriesTheFigures) {
  BenchCoordReport r;
  r.options.op = BenchOp::kSet;
  r.ops = 42;
  r.errors = 1;
  r.first_error = "Unavailable: \"x\"";
  const std::string json = format_report_json(r);
  EXPECT_NE(json.find("\"op\":\"set\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"ops\":42"), std::string::npos) << json;
  EXPECT_NE(json.find("\"first_error\":\"Unavailable: \\\"x\\\"\""), std::string::npos) << json;
}

}  // namespace
}  // namespace weir::cli
