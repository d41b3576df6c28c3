#include <gtest/gtest.h>

#include <fstream>

#include "broker/config.h"
#include "kafka/topic_name.h"
#include "broker_test_util.h"

namespace nocopy::broker {
namespace {

TEST(TopicName, AcceptsKafkaLegalNames) {
  EXPECT_TRUE(kafka::is_valid_topic_name("orders"));
  EXPECT_TRUE(kafka::is_valid_topic_name("a.b_c-D9"));
  EXPECT_TRUE(kafka::is_valid_topic_name(std::string(249, 'x')));
  EXPECT_TRUE(kafka::is_valid_topic_name("..."));
}

TEST(TopicName, RejectsNamesThatCouldEscapeTheDataDir) {
  EXPECT_FALSE(kafka::is_valid_topic_name(""));
  EXPECT_FALSE(kafka::is_valid_topic_name("."));
  EXPECT_FALSE(kafka::is_valid_topic_name(".."));
  EXPECT_FALSE(kafka::is_valid_topic_name("../x"));
  EXPECT_FALSE(kafka::is_valid_topic_name("a/b"));
  EXPECT_FALSE(kafka::is_valid_topic_name("a\\b"));
  EXPECT_FALSE(kafka::is_valid_topic_name(std::string(250, 'x')));
  EXPECT_FALSE(kafka::is_valid_topic_name(std::string("a\0b", 3)));
  EXPECT_FALSE(kafka::is_valid_topic_name("sp ace"));
}

TEST(HostPort, Parses) {
  auto hp = HostPort::parse("127.0.0.1:9092");
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 9092);
  EXPECT_EQ(HostPort::parse(":80").host, "0.0.0.0");
  EXPECT_EQ(HostPort::parse("[::1]:1").host, "::1");
  EXPECT_THROW(HostPort::parse("nohost"), std::invalid_argument);
  EXPECT_THROW(HostPort::parse("h:65536"), std::invalid_argument);
  EXPECT_THROW(HostPort::parse("h:12x"), std::invalid_argument);
}

TEST(Config, AdvertisedDefaultsToListen) {
  Config c;
  c.listen = HostPort::parse("0.0.0.0:1234");
  auto a = c.advertised_address();
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 1234);
  c.advertised = HostPort::parse("broker.example:9000");
  EXPECT_EQ(c.advertised_address().to_string(), "broker.example:9000");
}

TEST(Config, LoadsToml) {
  testing::TempDir dir;
  auto file = dir.path() / "broker.toml";
  std::ofstream(file) << "listen = \"127.0.0.1:19092\"\n"
                         "data_dir = \"/tmp/somewhere\"\n"
                         "threads = 3\n"
                         "flush = \"every\"\n"
                         "auto_create_topics = false\n"
                         "default_partitions = 6\n"
                         "fetch_strategy = \"splice\"\n"
                         "segment_bytes = 1048576\n"
                         "preallocate_bytes = 0\n"
                         "replica_drop_behind_bytes = 0\n"
                         "lookup_mmap = true\n";
  Config c;
  EXPECT_EQ(c.preallocate_bytes, 1u << 20);
  EXPECT_EQ(c.replica_drop_behind_bytes, 8u << 20);
  EXPECT_FALSE(c.lookup_mmap);
  c.load_toml(file);
  EXPECT_EQ(c.listen.port, 19092);
  EXPECT_EQ(c.data_dir, "/tmp/somewhere");
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.flush, FlushMode::every);
  EXPECT_FALSE(c.auto_create_topics);
  EXPECT_EQ(c.default_partitions, 6);
  EXPECT_EQ(c.fetch_strategy, io::Strategy::splice);
  EXPECT_EQ(c.segment_bytes, 1048576u);
  EXPECT_EQ(c.preallocate_bytes, 0u);
  EXPECT_EQ(c.replica_drop_behind_bytes, 0u);
  EXPECT_TRUE(c.lookup_mmap);
}

TEST(Config, RejectsBadToml) {
  testing::TempDir dir;
  auto file = dir.path() / "bad.toml";
  std::ofstream(file) << "fetch_strategy = \"teleport\"\n";
  Config c;
  EXPECT_THROW(c.load_toml(file), std::invalid_argument);
  std::ofstream(file) << "threads = \"many\"\n";
  EXPECT_THROW(c.load_toml(file), std::invalid_argument);
  for (const char* bad : {"preallocate_bytes = -1\n", "preallocate_bytes = 2147483648\n", "lookup_mmap = \"yes\"\n",
                          "replica_drop_behind_bytes = -1\n", "replica_drop_behind_bytes = 2147483648\n"}) {
    std::ofstream(file) << bad;
    EXPECT_THROW(c.load_toml(file), std::invalid_argument) << bad;
  }
  std::ofstream(file) << "this is not toml [\n";
  EXPECT_THROW(c.load_toml(file), std::runtime_error);
  EXPECT_THROW(Config::parse_flush("sometimes"), std::invalid_argument);
}

}  // namespace
}  // namespace nocopy::broker
