#include "perf/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nocopy::perf {

int LatencyHistogram::index_of(std::uint64_t v) {
  if (v < static_cast<std::uint64_t>(kSub)) return static_cast<int>(v);
  const int msb = 63 - std::countl_zero(v);  // >= kSubBits
  const int shift = msb - kSubBits;
  const int sub = static_cast<int>((v >> shift) & (kSub - 1));
  return kSub + shift * kSub + sub;
}

std::uint64_t LatencyHistogram::lower_bound_of(int index) {
  if (index < kSub) return static_cast<std::uint64_t>(index);
  const int shift = (index - kSub) / kSub;
  const std::uint64_t sub = static_cast<std::uint64_t>((index - kSub) % kSub);
  return (static_cast<std::uint64_t>(kSub) + sub) << shift;
}

std::uint64_t LatencyHistogram::upper_bound_of(int index) {
  if (index < kSub) return static_cast<std::uint64_t>(index);
  const int shift = (index - kSub) / kSub;
  return lower_bound_of(index) + ((1ull << shift) - 1);
}

void LatencyHistogram::record(std::uint64_t ns) {
  ++buckets_[static_cast<std::size_t>(index_of(ns))];
  ++count_;
  sum_ += ns;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  if (rank == 1) return min_;  // the extremes are known exactly
  if (rank == count_) return max_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    const std::uint64_t n = buckets_[i];
    if (seen + n < rank) {
      seen += n;
      continue;
    }
    // rank is the k-th of the n samples in this bucket: spread them evenly
    // over the bucket's width (long double: widths reach 2^57).
    const auto lo = lower_bound_of(static_cast<int>(i));
    const auto hi = upper_bound_of(static_cast<int>(i));
    const long double k = static_cast<long double>(rank - seen);
    const long double width = static_cast<long double>(hi - lo) + 1.0L;
    auto v = lo + static_cast<std::uint64_t>((k - 0.5L) / static_cast<long double>(n) * width);
    v = std::min(v, hi);
    return std::clamp(v, min_, max_);
  }
  return max_;
}

}  // namespace nocopy::perf
