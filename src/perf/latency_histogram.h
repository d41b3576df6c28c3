// LatencyHistogram: log-linear histogram of nanosecond latencies with ~1.6%
// relative precision (64 sub-buckets per power of two), constant memory
// (~29 KB), O(1) record. Exact count, min, max and sum are kept alongside.
//
// percentile(p) returns the upper bound of the bucket holding the
// ceil(p * count)-th smallest value, clamped to the exact max, so it never
// under-reports by more than one bucket width.
//
// Not thread-safe: one histogram per thread, combined with merge().
#pragma once

#include <array>
#include <cstdint>

namespace nocopy::perf {

class LatencyHistogram {
 public:
  void record(std::uint64_t ns);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

  // p in [0, 1]; 0 when empty.
  std::uint64_t percentile(double p) const;

 private:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;                   // 64
  static constexpr int kBuckets = kSub + (64 - kSubBits) * kSub;  // covers all of uint64
  static int index_of(std::uint64_t v);
  static std::uint64_t upper_bound_of(int index);

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = ~0ull;
  std::uint64_t max_ = 0;
};

}  // namespace nocopy::perf
