#include "perf/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace nocopy::perf {

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.99), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 50; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0.5), 25u);
  EXPECT_EQ(h.percentile(1.0), 50u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 25.5);
}

TEST(LatencyHistogram, PercentilesWithinBucketPrecisionOfExact) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
  std::vector<std::uint64_t> v(100'000);
  LatencyHistogram h;
  for (auto& x : v) {
    x = static_cast<std::uint64_t>(dist(rng));
    h.record(x);
  }
  std::sort(v.begin(), v.end());
  for (double p : {0.5, 0.9, 0.99, 0.999}) {
    const auto exact = v[static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1];
    const auto got = h.percentile(p);
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * 1.032 + 1) << p;
  }
  EXPECT_EQ(h.max(), v.back());
  EXPECT_EQ(h.percentile(1.0), v.back());
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const std::uint64_t x = i * i * 37 + 5;
    (i % 2 ? a : b).record(x);
    all.record(x);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {0.1, 0.5, 0.99}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(LatencyHistogram, HugeValuesDoNotOverflow) {
  LatencyHistogram h;
  h.record(~0ull);
  h.record(1ull << 40);
  EXPECT_EQ(h.max(), ~0ull);
  EXPECT_EQ(h.percentile(1.0), ~0ull);
  EXPECT_GE(h.percentile(0.5), 1ull << 40);
}

}  // namespace nocopy::perf
