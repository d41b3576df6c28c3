#include "perf/sequence_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace nocopy::perf {

TEST(SequenceTracker, CompleteRunHasNothingMissing) {
  SequenceTracker t;
  for (std::uint64_t s = 0; s < 1000; ++s) EXPECT_TRUE(t.record(7, s));
  EXPECT_EQ(t.unique(), 1000u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.missing(1000), 0u);
  EXPECT_EQ(t.missing(0), 0u);
}

TEST(SequenceTracker, CountsDuplicatesAndGaps) {
  SequenceTracker t;
  for (std::uint64_t s = 0; s < 100; ++s)
    if (s != 10 && s != 50) t.record(1, s);
  EXPECT_FALSE(t.record(1, 20));
  EXPECT_FALSE(t.record(1, 20));
  EXPECT_EQ(t.duplicates(), 2u);
  EXPECT_EQ(t.gaps(), 2u);
  EXPECT_EQ(t.missing(0), 2u);
  // Tail loss is only visible against the expected count.
  EXPECT_EQ(t.missing(110), 12u);
}

TEST(SequenceTracker, RunsAreIndependent) {
  SequenceTracker t;
  t.record(1, 0);
  t.record(2, 0);  // same sequence, other run: not a duplicate
  t.record(2, 3);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.runs(), 2u);
  EXPECT_EQ(t.gaps(), 2u);  // run 2 lacks 1 and 2
}

TEST(SequenceTracker, MergeOfShuffledSplitEqualsWhole) {
  std::vector<std::uint64_t> seqs(20'000);
  std::iota(seqs.begin(), seqs.end(), 0);
  std::mt19937_64 rng(42);
  std::shuffle(seqs.begin(), seqs.end(), rng);
  SequenceTracker a, b, all;
  for (std::size_t i = 0; i < seqs.size(); ++i) (i % 3 ? a : b).record(9, seqs[i]);
  a.record(9, seqs[0]);  // one duplicate inside a
  b.record(9, seqs[1]);  // and one across a and b (seqs[1] went to a)
  all.merge(a);
  all.merge(b);
  EXPECT_EQ(all.unique(), 20'000u);
  EXPECT_EQ(all.duplicates(), 2u);
  EXPECT_EQ(all.missing(20'000), 0u);
}

}  // namespace nocopy::perf
