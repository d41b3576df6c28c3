// LatencyHistogram: HDR-style log-linear histogram of nanosecond latencies.
// Values below 128 are counted exactly; above, each power of two is split into
// 128 equal sub-buckets, so a bucket is at most 1/128 (0.78%) of its lower
// bound wide. Constant memory (~58 KB), O(1) record. Exact count, min, max and
// sum are kept alongside.
//
// percentile(p) finds the bucket holding the ceil(p * count)-th smallest value
// and interpolates linearly inside it by rank (the k-th of n samples in a
// bucket [lo, hi] reads as lo + (k - 0.5) / n * (hi + 1 - lo)), clamped to the
// exact min and max. The result lies inside the bucket that holds the true
// value, so its relative error is below 1/128 < 1%.
//
// Not thread-safe: one histogram per thread, combined with merge().
#pragma once

#include <array>
#include <cstdint>

namespace nocopy::perf {

class LatencyHistogram {
 public:
  // Largest relative error of percentile() against the exact order statistic.
  static constexpr double kMaxRelativeError = 1.0 / 128.0;

  void record(std::uint64_t ns);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

  // p in [0, 1]; 0 when empty.
  std::uint64_t percentile(double p) const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr int kSub = 1 << kSubBits;                      // 128
  static constexpr int kBuckets = kSub + (64 - kSubBits) * kSub;  // covers all of uint64
  static int index_of(std::uint64_t v);
  static std::uint64_t lower_bound_of(int index);
  static std::uint64_t upper_bound_of(int index);

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = ~0ull;
  std::uint64_t max_ = 0;
};

}  // namespace nocopy::perf
