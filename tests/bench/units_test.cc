#include "bench/units.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace nocopy::bench {
namespace {

TEST(Units, ParsesBinarySuffixes) {
  EXPECT_EQ(parse_size("4K"), 4096u);
  EXPECT_EQ(parse_size("64k"), 65536u);
  EXPECT_EQ(parse_size("1M"), 1u << 20);
  EXPECT_EQ(parse_size("16MiB"), 16u << 20);
  EXPECT_EQ(parse_size("1G"), 1ull << 30);
  EXPECT_EQ(parse_size("2gb"), 2ull << 30);
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_EQ(parse_size("100B"), 100u);
  EXPECT_EQ(parse_size(" 8K "), 8192u);
  EXPECT_EQ(parse_size("0"), 0u);
}

TEST(Units, RejectsGarbage) {
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("K"));
  EXPECT_FALSE(parse_size("-1K"));
  EXPECT_FALSE(parse_size("1T"));
  EXPECT_FALSE(parse_size("1.5G"));
  EXPECT_FALSE(parse_size("12abc"));
  EXPECT_FALSE(parse_size("99999999999999999999"));
  EXPECT_FALSE(parse_size("17179869184G"));  // overflows 64 bits
}

TEST(Units, ParsesTheDefaultSizeList) {
  EXPECT_EQ(parse_size_list("4K,64K,1M,16M,1G"),
            (std::vector<std::uint64_t>{4096, 65536, 1u << 20, 16u << 20, 1ull << 30}));
}

TEST(Units, SizeListRejectsZeroAndBadElements) {
  EXPECT_THROW(parse_size_list("4K,0"), std::invalid_argument);
  EXPECT_THROW(parse_size_list("4K,x"), std::invalid_argument);
  EXPECT_THROW(parse_size_list(""), std::invalid_argument);
  EXPECT_THROW(parse_size_list("4K,,8K"), std::invalid_argument);
}

TEST(Units, FormatsSizes) {
  EXPECT_EQ(format_size(4096), "4K");
  EXPECT_EQ(format_size(1ull << 30), "1G");
  EXPECT_EQ(format_size(3ull << 29), "1.5G");
  EXPECT_EQ(format_size(100), "100B");
  EXPECT_EQ(format_size(64u << 20), "64M");
}

}  // namespace
}  // namespace nocopy::bench
