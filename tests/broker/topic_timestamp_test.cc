// Per-topic message.timestamp.type / message.timestamp.before.max.ms /
// message.timestamp.after.max.ms through the RequestHandler: set at
// CreateTopics and (Incremental)AlterConfigs, refused with INVALID_CONFIG
// when malformed, reported by DescribeConfigs with their source, persisted
// across a restart, and honoured by Produce -- a LogAppendTime topic's
// batches are stored with attribute bit 3 and the append time as their
// maxTimestamp under a recomputed CRC, whatever the producer stamped.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "broker/topic_config.h"
#include "broker_test_util.h"
#include "io/clock.h"
#include "kafka/error_code.h"
#include "log/record_batch.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;

constexpr std::int64_t kCoarseTickMs = 20;  // above a jiffy at HZ=100

class TopicTimestampTest : public testing::NodeTest {
 protected:
  static kafka::ProduceResponse::PartitionResponse produce(Node& n, const std::string& topic,
                                                          std::span<const std::byte> records) {
    auto res = n.call<kafka::ProduceResponse>(9, testing::produce_request(topic, 0, records));
    return res.responses.at(0).partitions.at(0);
  }
  // The stored batch at `offset` of partition 0, read back from its segment.
  static std::vector<std::byte> stored_batch(Node& n, const std::string& topic, std::int64_t offset) {
    auto part = n.topics.find(topic, 0);
    auto rr = part->read(offset, 1, true);
    EXPECT_FALSE(rr.regions.empty());
    if (rr.regions.empty()) return {};
    const buf::FileRegion& reg = rr.regions.front();
    std::array<std::byte, log::kBatchHeaderSize> hdr{};
    EXPECT_TRUE(reg.file->pread_full(hdr, reg.offset).has_value());
    std::vector<std::byte> batch(log::parse_batch_header(hdr).total_size());
    EXPECT_TRUE(reg.file->pread_full(batch, reg.offset).has_value());
    return batch;
  }
  static kafka::CreateTopicsRequest create(const std::string& name, std::vector<kafka::CreateTopicsRequest::Config> c) {
    kafka::CreateTopicsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = 1;
    t.replication_factor = 1;
    t.configs = std::move(c);
    return req;
  }
  static const kafka::DescribeConfigsResponse::Config* described(const kafka::DescribeConfigsResponse& res,
                                                                 const std::string& name) {
    for (const auto& c : res.results.at(0).configs)
      if (c.name == name) return &c;
    return nullptr;
  }
};

TEST(TopicTimestampConfig, ApplySetsTheThreeFields) {
  Config base;
  EXPECT_FALSE(base.log_append_time());
  auto c = TopicConfig::apply(base, {{"message.timestamp.type", "LogAppendTime"},
                                     {"message.timestamp.before.max.ms", "1000"},
                                     {"message.timestamp.after.max.ms", "2000"}});
  EXPECT_TRUE(c.log_append_time());
  EXPECT_EQ(c.message_timestamp_before_max_ms, 1000);
  EXPECT_EQ(c.message_timestamp_after_max_ms, 2000);
  EXPECT_FALSE(TopicConfig::apply(c, {{"message.timestamp.type", "CreateTime"}}).log_append_time());
  Config bad;
  bad.message_timestamp_type = "Now";
  EXPECT_THROW(bad.check_cleaner(), std::invalid_argument);
}

TEST_F(TopicTimestampTest, LogAppendTimeTopicStampsBatchesWithARecomputedCrc) {
  Node n(cfg);
  auto cr = n.call<kafka::CreateTopicsResponse>(5, create("lat", {{"message.timestamp.type", "LogAppendTime"}}));
  ASSERT_EQ(cr.topics.at(0).error_code, 0);
  ASSERT_EQ(n.call<kafka::CreateTopicsResponse>(5, create("ct", {})).topics.at(0).error_code, 0);
  // Stamped two days back: out of CreateTime's range once a bound is set,
  // and never looked at under LogAppendTime.
  const std::int64_t sent = io::wall_clock_ms() - 2 * 86400000LL;
  auto batch = log::BatchBuilder().timestamp(sent).add("k", "1").add("k", "2", {}, 5).build();
  const std::int64_t before = io::wall_clock_ms();
  auto pr = produce(n, "lat", batch);
  const std::int64_t after = io::wall_clock_ms();
  ASSERT_EQ(pr.error_code, 0);
  // The log reads the coarse wall clock (CLOCK_REALTIME_COARSE): up to one
  // clock tick behind the precise one read before the produce.
  EXPECT_GE(pr.log_append_time_ms, before - kCoarseTickMs);
  EXPECT_LE(pr.log_append_time_ms, after);
  auto stored = stored_batch(n, "lat", 0);
  auto h = log::validate_batch(stored);  // the CRC covers the new header fields
  ASSERT_TRUE(h.has_value()) << h.error().message;
  EXPECT_TRUE(h->log_append_time());
  EXPECT_EQ(h->max_timestamp, pr.log_append_time_ms);
  EXPECT_EQ(h->base_timestamp, sent);  // records keep their deltas
  EXPECT_EQ(h->compression(), 0);
  // A zstd batch is stamped the same way, its compressed records untouched.
  auto zs = testing::zstd_batch(log::BatchBuilder().timestamp(sent).add("k", "3").build());
  pr = produce(n, "lat", zs);
  ASSERT_EQ(pr.error_code, 0);
  stored = stored_batch(n, "lat", 2);
  h = log::validate_batch(stored);
  ASSERT_TRUE(h.has_value()) << h.error().message;
  EXPECT_TRUE(h->log_append_time());
  EXPECT_EQ(h->max_timestamp, pr.log_append_time_ms);
  EXPECT_TRUE(std::equal(stored.begin() + log::kBatchHeaderSize, stored.end(), zs.begin() + log::kBatchHeaderSize));
  // The CreateTime topic stores the producer's stamps and answers -1.
  pr = produce(n, "ct", batch);
  ASSERT_EQ(pr.error_code, 0);
  EXPECT_EQ(pr.log_append_time_ms, -1);
  h = log::validate_batch(stored_batch(n, "ct", 0));
  ASSERT_TRUE(h.has_value());
  EXPECT_FALSE(h->log_append_time());
  EXPECT_EQ(h->max_timestamp, sent + 5);
}

TEST_F(TopicTimestampTest, PerTopicBoundsDecideInvalidTimestamp) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("strict", 1, {{"message.timestamp.before.max.ms", "60000"},
                                          {"message.timestamp.after.max.ms", "0"}}, false), 0);
  ASSERT_EQ(n.topics.create("loose", 1), 0);
  auto hour_ago = log::BatchBuilder().timestamp(io::wall_clock_ms() - 3600000).add("k", "1").build();
  EXPECT_EQ(produce(n, "strict", hour_ago).error_code, to_wire(ErrorCode::invalid_timestamp));
  EXPECT_EQ(produce(n, "loose", hour_ago).error_code, 0);  // the broker's bound: none
  auto ahead = log::BatchBuilder().timestamp(io::wall_clock_ms() + 600000).add("k", "1").build();
  EXPECT_EQ(produce(n, "strict", ahead).error_code, to_wire(ErrorCode::invalid_timestamp));
  EXPECT_EQ(produce(n, "loose", ahead).error_code, 0);  // within the hour
}

TEST_F(TopicTimestampTest, AlterConfigsSwitchesAnOpenTopicAndBadValuesAreInvalidConfig) {
  using Op = kafka::AlterConfigOp;
  {
    Node n(cfg);
    ASSERT_EQ(n.topics.create("t", 1), 0);
    auto batch = log::BatchBuilder().timestamp(1000).add("k", "1").build();
    kafka::IncrementalAlterConfigsRequest req;
    req.resources.push_back({2, "t", {{"message.timestamp.type", static_cast<std::int8_t>(Op::set), "LogAppendTime"}}});
    ASSERT_EQ(n.call<kafka::IncrementalAlterConfigsResponse>(1, req).responses.at(0).error_code, 0);
    auto pr = produce(n, "t", batch);  // stamped 1970 by the producer, now by the log
    ASSERT_EQ(pr.error_code, 0);
    EXPECT_GT(pr.log_append_time_ms, 1000);
    auto h = log::validate_batch(stored_batch(n, "t", 0));
    ASSERT_TRUE(h.has_value());
    EXPECT_TRUE(h->log_append_time());
    for (const char* bad : {"logappendtime", "", "AppendTime"}) {
      req.resources[0].configs[0].value = bad;
      auto res = n.call<kafka::IncrementalAlterConfigsResponse>(1, req);
      EXPECT_EQ(res.responses.at(0).error_code, to_wire(ErrorCode::invalid_config)) << bad;
    }
    kafka::AlterConfigsRequest alter;
    alter.resources = {{2, "t", {{"message.timestamp.type", "LogAppendTime"}, {"message.timestamp.after.max.ms", "-5"}}}};
    EXPECT_EQ(n.call<kafka::AlterConfigsResponse>(2, alter).responses.at(0).error_code,
              to_wire(ErrorCode::invalid_config));
    alter.resources = {{2, "t", {{"message.timestamp.type", "LogAppendTime"}, {"message.timestamp.after.max.ms", "5"}}}};
    EXPECT_EQ(n.call<kafka::AlterConfigsResponse>(2, alter).responses.at(0).error_code, 0);
    auto bad = n.call<kafka::CreateTopicsResponse>(5, create("x", {{"message.timestamp.type", "Later"}}));
    EXPECT_EQ(bad.topics.at(0).error_code, to_wire(ErrorCode::invalid_config));
    EXPECT_FALSE(n.topics.find("x"));
  }
  // Persisted: a restart runs the topic with its overrides again.
  Node again(cfg);
  auto t = again.topics.find("t");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->config->log_append_time());
  EXPECT_EQ(t->config->message_timestamp_after_max_ms, 5);
  auto pr = produce(again, "t", log::BatchBuilder().timestamp(1000).add("k", "2").build());
  ASSERT_EQ(pr.error_code, 0);
  auto h = log::validate_batch(stored_batch(again, "t", 1));
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->log_append_time());
  EXPECT_EQ(h->max_timestamp, pr.log_append_time_ms);
}

TEST_F(TopicTimestampTest, DescribeConfigsReportsEachSource) {
  cfg.message_timestamp_after_max_ms = 7200000;  // a static broker setting
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1, {{"message.timestamp.type", "LogAppendTime"}}, false), 0);
  kafka::DescribeConfigsRequest req;
  req.resources = {{2, "t", std::nullopt}};
  req.include_synonyms = true;
  auto res = n.call<kafka::DescribeConfigsResponse>(4, req);
  ASSERT_EQ(res.results.at(0).error_code, 0);
  const auto* type = described(res, "message.timestamp.type");
  const auto* after = described(res, "message.timestamp.after.max.ms");
  const auto* before = described(res, "message.timestamp.before.max.ms");
  ASSERT_TRUE(type && after && before);
  EXPECT_EQ(type->value, "LogAppendTime");
  EXPECT_EQ(type->config_source, 1);  // DYNAMIC_TOPIC_CONFIG
  ASSERT_EQ(type->synonyms.size(), 2u);
  EXPECT_EQ(type->synonyms[1].name, "log.message.timestamp.type");
  EXPECT_EQ(type->synonyms[1].value, "CreateTime");
  EXPECT_EQ(after->value, "7200000");
  EXPECT_EQ(after->config_source, 4);  // STATIC_BROKER_CONFIG
  EXPECT_EQ(after->synonyms.at(0).name, "log.message.timestamp.after.max.ms");
  EXPECT_EQ(before->value, "9223372036854775807");
  EXPECT_EQ(before->config_source, 5);  // DEFAULT_CONFIG
  EXPECT_EQ(before->config_type, static_cast<std::int8_t>(kafka::ConfigType::long_));
  // The broker resource lists the broker-level names.
  req.resources = {{4, "0", std::vector<std::string>{"log.message.timestamp.type"}}};
  res = n.call<kafka::DescribeConfigsResponse>(4, req);
  ASSERT_EQ(res.results.at(0).configs.size(), 1u);
  EXPECT_EQ(res.results[0].configs[0].value, "CreateTime");
}

}  // namespace
}  // namespace nocopy::broker
