// kafka::Uuid's text form: Kafka's Uuid.toString / fromString (URL-safe
// base64, no padding) and random topic ids.
#include "kafka/uuid.h"

#include <gtest/gtest.h>

#include <set>

namespace nocopy::kafka {
namespace {

Uuid counting() {
  Uuid u{};
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = static_cast<std::byte>(i + 1);
  return u;
}

TEST(Uuid, TextFormIsUrlSafeBase64WithoutPadding) {
  // Worked by hand: 01 02 03 = 000000 010000 001000 000011 = "AQID", ...;
  // the last byte 0x10 leaves 00010000 -> "EA" (2 bits padded with zeros).
  EXPECT_EQ(uuid_to_string(counting()), "AQIDBAUGBwgJCgsMDQ4PEA");
  EXPECT_EQ(uuid_to_string(kZeroUuid), "AAAAAAAAAAAAAAAAAAAAAA");
  Uuid u{};
  u[0] = std::byte{0xfb};
  u[1] = std::byte{0xff};
  EXPECT_EQ(uuid_to_string(u), "-_8AAAAAAAAAAAAAAAAAAA") << "62 and 63 are '-' and '_'";
  EXPECT_EQ(parse_uuid("-_8AAAAAAAAAAAAAAAAAAA"), u);
  EXPECT_EQ(parse_uuid("AQIDBAUGBwgJCgsMDQ4PEA"), counting());
}

TEST(Uuid, ParseRejectsAnythingElse) {
  EXPECT_FALSE(parse_uuid(""));
  EXPECT_FALSE(parse_uuid("AQIDBAUGBwgJCgsMDQ4PE"));     // 21 characters
  EXPECT_FALSE(parse_uuid("AQIDBAUGBwgJCgsMDQ4PEAA"));   // 23
  EXPECT_FALSE(parse_uuid("AQIDBAUGBwgJCgsMDQ4PEA=="));  // padding
  EXPECT_FALSE(parse_uuid("AQIDBAUGBwgJCgsMDQ4P+A"));    // standard base64's '+'
  EXPECT_FALSE(parse_uuid("AQIDBAUGBwgJCgsMDQ4PEB"));    // stray bits in the last character
}

TEST(Uuid, RandomTopicIdsAreVersion4AndNeverReserved) {
  std::set<Uuid> seen;
  for (int i = 0; i < 2000; ++i) {
    Uuid u = random_topic_id();
    EXPECT_FALSE(is_zero(u));
    EXPECT_EQ(static_cast<unsigned>(u[6]) >> 4, 4u);
    EXPECT_EQ(static_cast<unsigned>(u[8]) >> 6, 2u);
    EXPECT_NE(uuid_to_string(u).front(), '-');
    EXPECT_EQ(parse_uuid(uuid_to_string(u)), u);
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

}  // namespace
}  // namespace nocopy::kafka
