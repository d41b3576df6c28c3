// Topic ids (KIP-516): partition.metadata files, recovery of topics without
// one, lookups by id, and what CreateTopics and Metadata answer.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "broker/partition_metadata_file.h"
#include "broker/topic_registry.h"
#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "kafka/uuid.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;
using testing::slurp;

class TopicIdTest : public testing::NodeTest {
 protected:
  static void close_all(TopicRegistry& r) {
    for (auto& p : r.all_partitions()) p->close();
  }
  std::filesystem::path meta(const std::string& dir_name) const {
    return cfg.data_dir / dir_name / kPartitionMetadataFile;
  }
  Metrics metrics{io::Strategy::sendfile};
};

TEST_F(TopicIdTest, CreateWritesKafkasFileInEveryPartitionAndRestartKeepsIt) {
  kafka::Uuid id{}, other{};
  {
    TopicRegistry r(cfg, &metrics);
    r.recover();
    ASSERT_EQ(r.create("t", 2), 0);
    ASSERT_EQ(r.create("u", 1), 0);
    id = r.find("t")->topic_id;
    other = r.find("u")->topic_id;
    EXPECT_FALSE(kafka::is_zero(id));
    EXPECT_NE(id, other);
    const std::string want = "version: 0\ntopic_id: " + kafka::uuid_to_string(id) + "\n";
    EXPECT_EQ(slurp(meta("t-0")), want);
    EXPECT_EQ(slurp(meta("t-1")), want);
    ASSERT_EQ(r.add_partitions("t", 3, false), 0);
    EXPECT_EQ(slurp(meta("t-2")), want) << "a new partition carries the topic's id";
    EXPECT_EQ(r.find("t")->topic_id, id);
    ASSERT_TRUE(r.find_id(id));
    EXPECT_EQ(r.find_id(id)->name, "t");
    EXPECT_EQ(r.find_id(other)->name, "u");
    EXPECT_FALSE(r.find_id(kafka::kZeroUuid));
    close_all(r);
  }
  TopicRegistry r(cfg, &metrics);
  EXPECT_EQ(r.recover(), 2u);
  EXPECT_EQ(r.find("t")->topic_id, id);
  EXPECT_EQ(r.find("u")->topic_id, other);
  EXPECT_EQ(r.find_id(id)->name, "t");
  // Deleting a topic forgets its id.
  ASSERT_EQ(r.remove("u"), 0);
  EXPECT_FALSE(r.find_id(other));
  close_all(r);
}

TEST_F(TopicIdTest, ATopicWithoutAnIdGetsOneOnLoadWrittenToEveryPartition) {
  {
    TopicRegistry r(cfg, &metrics);
    r.recover();
    ASSERT_EQ(r.create("old", 2), 0);
    close_all(r);
  }
  // As a data directory from before topic ids: no partition.metadata.
  std::filesystem::remove(meta("old-0"));
  std::filesystem::remove(meta("old-1"));
  kafka::Uuid id{};
  {
    TopicRegistry r(cfg, &metrics);
    ASSERT_EQ(r.recover(), 1u);
    id = r.find("old")->topic_id;
    EXPECT_FALSE(kafka::is_zero(id));
    EXPECT_EQ(read_partition_metadata(cfg.data_dir / "old-0").topic_id, id);
    EXPECT_EQ(read_partition_metadata(cfg.data_dir / "old-1").topic_id, id);
    close_all(r);
  }
  TopicRegistry r(cfg, &metrics);
  ASSERT_EQ(r.recover(), 1u);
  EXPECT_EQ(r.find("old")->topic_id, id) << "the assigned id was persisted";
  close_all(r);
}

TEST_F(TopicIdTest, DisagreeingOrBrokenFilesTakePartitionZerosId) {
  kafka::Uuid id{};
  {
    TopicRegistry r(cfg, &metrics);
    r.recover();
    ASSERT_EQ(r.create("t", 3), 0);
    id = r.find("t")->topic_id;
    close_all(r);
  }
  write_partition_metadata(cfg.data_dir / "t-1", kafka::random_topic_id());
  std::ofstream(meta("t-2")) << "version: 0\ntopic_id: not-a-uuid\n";
  TopicRegistry r(cfg, &metrics);
  ASSERT_EQ(r.recover(), 1u);
  EXPECT_EQ(r.find("t")->topic_id, id);
  for (const char* d : {"t-0", "t-1", "t-2"}) EXPECT_EQ(read_partition_metadata(cfg.data_dir / d).topic_id, id) << d;
  close_all(r);
}

TEST_F(TopicIdTest, PartitionMetadataFileRejectsWhatKafkaRejects) {
  auto d = cfg.data_dir / "x-0";
  std::filesystem::create_directories(d);
  auto read = [&](const std::string& text) {
    std::ofstream(d / kPartitionMetadataFile) << text;
    return read_partition_metadata(d);
  };
  EXPECT_TRUE(read_partition_metadata(cfg.data_dir / "absent").error.empty());
  auto ok = read("version: 0\ntopic_id: AQIDBAUGBwgJCgsMDQ4PEA");  // Kafka writes no final newline
  ASSERT_TRUE(ok.topic_id);
  EXPECT_EQ(kafka::uuid_to_string(*ok.topic_id), "AQIDBAUGBwgJCgsMDQ4PEA");
  EXPECT_TRUE(read("version:   0\ntopic_id:\tAQIDBAUGBwgJCgsMDQ4PEA\n").topic_id) << "any blanks separate";
  for (const char* bad : {"version: 1\ntopic_id: AQIDBAUGBwgJCgsMDQ4PEA\n", "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n",
                          "version: 0\n", "", "topic_id: AQIDBAUGBwgJCgsMDQ4PEA\nversion: 0\n",
                          "version: 0\ntopic_id: AQIDBAUGBwgJCgsMDQ4PEA extra\n"}) {
    auto r = read(bad);
    EXPECT_FALSE(r.topic_id) << bad;
    EXPECT_FALSE(r.error.empty()) << bad;
  }
}

TEST_F(TopicIdTest, SetTopicIdRewritesEveryPartitionAndTheIndex) {
  TopicRegistry r(cfg, &metrics);
  r.recover();
  ASSERT_EQ(r.create("t", 2), 0);
  const auto old = r.find("t")->topic_id;
  const auto id = kafka::random_topic_id();
  ASSERT_EQ(r.set_topic_id("t", id), 0);
  EXPECT_EQ(r.find("t")->topic_id, id);
  EXPECT_FALSE(r.find_id(old));
  EXPECT_EQ(r.find_id(id)->name, "t");
  EXPECT_EQ(read_partition_metadata(cfg.data_dir / "t-1").topic_id, id);
  EXPECT_EQ(r.set_topic_id("t", kafka::kZeroUuid), to_wire(ErrorCode::invalid_request));
  EXPECT_EQ(r.set_topic_id("nope", id), to_wire(ErrorCode::unknown_topic_or_partition));
  // A given id is kept by create (cluster mode: etcd's).
  const auto given = kafka::random_topic_id();
  ASSERT_EQ(r.create("g", 1, {}, false, nullptr, given), 0);
  EXPECT_EQ(r.find("g")->topic_id, given);
  close_all(r);
}

kafka::MetadataRequest by(std::vector<kafka::MetadataRequest::Topic> topics) {
  kafka::MetadataRequest q;
  q.topics = std::move(topics);
  q.allow_auto_topic_creation = false;
  return q;
}

TEST_F(TopicIdTest, CreateTopicsAndMetadataAnswerTheId) {
  Node n(cfg);
  kafka::CreateTopicsRequest c;
  auto& ct = c.topics.emplace_back();
  ct.name = "t";
  ct.num_partitions = 2;
  auto created = n.call<kafka::CreateTopicsResponse>(7, c);
  ASSERT_EQ(created.topics.size(), 1u);
  ASSERT_EQ(created.topics[0].error_code, 0);
  const auto id = created.topics[0].topic_id;
  EXPECT_EQ(id, n.topics.find("t")->topic_id);
  EXPECT_EQ(created.topics[0].num_partitions, 2);
  EXPECT_EQ(created.topics[0].replication_factor, 1);
  ASSERT_TRUE(created.topics[0].configs);
  EXPECT_FALSE(created.topics[0].configs->empty()) << "v5+: the configs the topic runs with";

  // v10-13 by name: the id comes back.
  for (std::int16_t v = 10; v <= 13; ++v) {
    SCOPED_TRACE("v" + std::to_string(v));
    auto md = n.call<kafka::MetadataResponse>(v, by({{kafka::Uuid{}, "t"}, {kafka::Uuid{}, "missing"}}));
    ASSERT_EQ(md.topics.size(), 2u);
    EXPECT_EQ(md.topics[0].error_code, 0);
    EXPECT_EQ(md.topics[0].topic_id, id);
    EXPECT_EQ(md.topics[0].partitions.size(), 2u);
    EXPECT_EQ(md.topics[1].error_code, to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_TRUE(kafka::is_zero(md.topics[1].topic_id));
    EXPECT_EQ(md.error_code, 0);
  }
  // v12 by id: the name comes back; an unknown id is UNKNOWN_TOPIC_ID with a null name.
  const auto unknown = kafka::random_topic_id();
  auto md = n.call<kafka::MetadataResponse>(12, by({{id, std::nullopt}, {unknown, std::nullopt}}));
  ASSERT_EQ(md.topics.size(), 2u);
  EXPECT_EQ(md.topics[0].error_code, 0);
  EXPECT_EQ(md.topics[0].name, "t");
  EXPECT_EQ(md.topics[0].partitions.size(), 2u);
  EXPECT_EQ(md.topics[1].error_code, to_wire(ErrorCode::unknown_topic_id));
  EXPECT_FALSE(md.topics[1].name.has_value());
  EXPECT_EQ(md.topics[1].topic_id, unknown);
  // v10-11 cannot ask by id: INVALID_REQUEST for that topic.
  md = n.call<kafka::MetadataResponse>(11, by({{id, "t"}}));
  ASSERT_EQ(md.topics.size(), 1u);
  EXPECT_EQ(md.topics[0].error_code, to_wire(ErrorCode::invalid_request));
  // Every topic (null list): each with its id.
  kafka::MetadataRequest all;
  md = n.call<kafka::MetadataResponse>(12, all);
  ASSERT_EQ(md.topics.size(), 1u);
  EXPECT_EQ(md.topics[0].topic_id, id);
  EXPECT_EQ(read_partition_metadata(cfg.data_dir / "t-0").topic_id, id);
}

}  // namespace
}  // namespace nocopy::broker
