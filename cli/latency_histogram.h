// LatencyHistogram: a log-linear histogram of durations with fixed memory, for load generators.
// A benchmark records millions of latencies; keeping every sample would grow without bound, so
// values are counted in buckets: exact below 128 ns, then 64 buckets per power of two, which
// bounds the relative error of any percentile by 1/64 (~1.6%) whatever the range, in ~30 KiB.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace weir::cli {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 6;  // 64 buckets per power of two
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  static constexpr size_t kBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

  // Negative values (a clock that went backwards) count as 0.
  void record(int64_t value_ns);
  void merge(const LatencyHistogram& other);
  void clear();

  uint64_t count() const { return count_; }
  int64_t min_ns() const { return count_ == 0 ? 0 : static_cast<int64_t>(min_); }
  int64_t max_ns() const { return static_cast<int64_t>(max_); }
  double mean_ns() const;
  // The value at quantile q in [0, 1]: the highest value of the bucket holding the
  // ceil(q * count)-th smallest sample, clamped to the recorded min and max (0 when empty).
  int64_t percentile_ns(double q) const;

  // Exposed for tests: the bucket of a value, and the range of values a bucket holds.
  static size_t bucket_of(uint64_t value);
  static uint64_t bucket_lowest(size_t bucket);
  static uint64_t bucket_highest(size_t bucket);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace weir::cli
