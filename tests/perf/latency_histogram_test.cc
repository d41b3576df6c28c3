#include "perf/latency_histogram.h"

#include "perf/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
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

// The exact p-quantile as percentile() defines it: the ceil(p * n)-th smallest.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

void expect_within_error_bound(std::vector<std::uint64_t> v, const LatencyHistogram& h) {
  std::sort(v.begin(), v.end());
  for (double p : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const auto exact = static_cast<double>(exact_percentile(v, p));
    const auto got = static_cast<double>(h.percentile(p));
    EXPECT_LE(std::abs(got - exact), exact * LatencyHistogram::kMaxRelativeError) << "p" << p << " exact " << exact;
    EXPECT_LE(std::abs(got - exact), exact * 0.01) << "p" << p;
  }
}

TEST(LatencyHistogram, PercentilesWithinOnePercentOfExact) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
  std::vector<std::uint64_t> v(100'000);
  LatencyHistogram h;
  for (auto& x : v) {
    x = static_cast<std::uint64_t>(dist(rng));
    h.record(x);
  }
  expect_within_error_bound(v, h);
  EXPECT_EQ(h.max(), *std::max_element(v.begin(), v.end()));
  EXPECT_EQ(h.percentile(1.0), h.max());
}

TEST(LatencyHistogram, ErrorBoundHoldsAtEveryMagnitude) {
  // From 100 ns to ~100 s, a few samples per decade, and the worst case for a
  // log-linear bucket: values just above a power of two, where buckets are
  // widest relative to the value.
  for (std::uint64_t scale = 100; scale < 200'000'000'000ull; scale *= 10) {
    std::mt19937_64 rng(scale);
    std::uniform_int_distribution<std::uint64_t> dist(scale, scale * 3);
    std::vector<std::uint64_t> v(2'001);
    LatencyHistogram h;
    for (auto& x : v) h.record(x = dist(rng));
    expect_within_error_bound(v, h);
  }
  for (int bit = 7; bit < 40; ++bit) {
    LatencyHistogram h;
    std::vector<std::uint64_t> v;
    for (std::uint64_t i = 0; i < 97; ++i) v.push_back((1ull << bit) + i * 3);
    for (auto x : v) h.record(x);
    expect_within_error_bound(v, h);
  }
}

TEST(LatencyHistogram, MedianFollowsTheDataNotABucketEdge) {
  // Runs whose true medians differ by 0.2% must read differently; a reading
  // pinned to one bucket edge (the same p50 for every run) fails this.
  std::vector<std::uint64_t> p50s;
  for (std::uint64_t median_ns : {500'000ull, 501'000ull, 502'000ull, 503'000ull}) {
    std::mt19937_64 rng(median_ns);
    std::normal_distribution<double> dist(static_cast<double>(median_ns), 2'000.0);
    LatencyHistogram h;
    std::vector<std::uint64_t> v(20'001);
    for (auto& x : v) h.record(x = static_cast<std::uint64_t>(dist(rng)));
    expect_within_error_bound(v, h);
    p50s.push_back(h.percentile(0.5));
  }
  for (std::size_t i = 1; i < p50s.size(); ++i) EXPECT_GT(p50s[i], p50s[i - 1]);
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

TEST(LatencyHistogram, JsonKeepsItsShape) {
  LatencyHistogram h;
  for (std::uint64_t x : {100'000ull, 200'000ull, 300'000ull, 400'000ull}) h.record(x);
  const auto j = latency_json(h);
  std::vector<std::string> keys;
  for (const auto& [k, _] : j.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"count", "max_us", "mean_us", "p50_us", "p99_9_us", "p99_us"}));
  EXPECT_EQ(j["count"], 4);
  EXPECT_DOUBLE_EQ(j["max_us"].get<double>(), 400.0);
  EXPECT_NEAR(j["p50_us"].get<double>(), 200.0, 2.0);
  EXPECT_DOUBLE_EQ(j["p99_us"].get<double>(), 400.0);
}

}  // namespace nocopy::perf
