#include "cli/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace weir::cli {

// Values below 2 * kSubBuckets have a bucket each. Above, a value with highest set bit e keeps
// its top kSubBucketBits + 1 bits: bucket (e - kSubBucketBits + 1) * 64 + the 6 bits below the
// top one, so buckets stay contiguous and each power of two gets 64 of them.
size_t LatencyHistogram::bucket_of(uint64_t value) {
  if (value < 2 * kSubBuckets) return static_cast<size_t>(value);
  const int top_bit = 63 - std::countl_zero(value);
  const int shift = top_bit - kSubBucketBits;
  return static_cast<size_t>((static_cast<uint64_t>(shift) + 1) * kSubBuckets +
                             ((value >> shift) - kSubBuckets));
}

uint64_t LatencyHistogram::bucket_lowest(size_t bucket) {
  if (bucket < 2 * kSubBuckets) return bucket;
  const int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  return (bucket % kSubBuckets + kSubBuckets) << shift;
}

uint64_t LatencyHistogram::bucket_highest(size_t bucket) {
  if (bucket < 2 * kSubBuckets) return bucket;
  const int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  // The last bucket's end would overflow: it ends at the largest value.
  if (bucket + 1 == kBuckets) return UINT64_MAX;
  return bucket_lowest(bucket) + (uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(int64_t value_ns) {
  const uint64_t v = value_ns < 0 ? 0 : static_cast<uint64_t>(value_ns);
  ++counts_[bucket_of(v)];
  ++count_;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += static_cast<long double>(v);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LatencyHistogram::clear() {
  *this = LatencyHistogram();
}

double LatencyHistogram::mean_ns() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

int64_t LatencyHistogram::percentile_ns(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return static_cast<int64_t>(std::clamp(bucket_highest(i), min_, max_));
  }
  return static_cast<int64_t>(max_);
}

}  // namespace weir::cli
