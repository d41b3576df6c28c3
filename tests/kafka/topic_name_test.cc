#include <gtest/gtest.h>

#include <string>

#include "kafka/topic_name.h"

namespace nocopy::kafka {
namespace {

TEST(TopicName, LegalNames) {
  EXPECT_TRUE(is_valid_topic_name("orders"));
  EXPECT_TRUE(is_valid_topic_name("a.b_c-D9"));
  EXPECT_TRUE(is_valid_topic_name("..."));
  EXPECT_TRUE(is_valid_topic_name(std::string(249, 'x')));
  EXPECT_TRUE(is_valid_topic_name("__consumer_offsets"));
}

TEST(TopicName, IllegalNames) {
  EXPECT_FALSE(is_valid_topic_name(""));
  EXPECT_FALSE(is_valid_topic_name("."));
  EXPECT_FALSE(is_valid_topic_name(".."));
  EXPECT_FALSE(is_valid_topic_name("../x"));
  EXPECT_FALSE(is_valid_topic_name("a/b"));
  EXPECT_FALSE(is_valid_topic_name("a b"));
  EXPECT_FALSE(is_valid_topic_name(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_topic_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_topic_name(std::string(250, 'x')));
}

}  // namespace
}  // namespace nocopy::kafka
