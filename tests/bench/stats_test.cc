#include "bench/stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace nocopy::bench {
namespace {

TEST(Stats, OddCountTakesTheMiddleValue) {
  const std::vector<double> v{5.0, 1.0, 3.0, 9.0, 2.0};
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 9.0);
}

TEST(Stats, EvenCountAveragesTheTwoMiddleValues) {
  const std::vector<double> v{4.0, 10.0, 1.0, 2.0};
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
}

TEST(Stats, OneOutlierDoesNotMoveTheMedian) {
  const std::vector<double> v{4.7, 4.6, 0.3, 4.8, 4.7};
  const Summary s = summarize(v);
  EXPECT_DOUBLE_EQ(s.median, 4.7);
  EXPECT_DOUBLE_EQ(s.min, 0.3);
}

TEST(Stats, SingleSample) {
  const std::vector<double> v{2.5};
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 1u);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 2.5);
  EXPECT_DOUBLE_EQ(s.max, 2.5);
}

TEST(Stats, EmptyGivesZeroCount) {
  const Summary s = summarize({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_DOUBLE_EQ(s.median, 0.0);
}

TEST(Stats, InputIsNotReordered) {
  const std::vector<double> v{3.0, 1.0, 2.0};
  (void)summarize(v);
  EXPECT_EQ(v, (std::vector<double>{3.0, 1.0, 2.0}));
}

}  // namespace
}  // namespace nocopy::bench
