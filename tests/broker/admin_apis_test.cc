// The admin APIs through the real RequestHandler/GroupsService:
// DescribeConfigs (API 32), CreatePartitions (37), DeleteGroups (42) and
// OffsetDelete (47), including what survives a restart (a fresh
// TopicRegistry/GroupsService over the same data dir).
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "broker/admin_thread.h"
#include "broker/config_describer.h"
#include "broker/groups_service.h"
#include "broker/metrics.h"
#include "broker/request_handler.h"
#include "broker/topic_registry.h"
#include "broker_test_util.h"
#include "test_node.h"
#include "kafka/codec.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "log/record_batch.h"
#include "net/event_loop.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;


class AdminApisTest : public testing::NodeTest {};

const kafka::DescribeConfigsResponse::Config* find_config(const kafka::DescribeConfigsResponse::Result& r,
                                                          const std::string& name) {
  for (const auto& c : r.configs)
    if (c.name == name) return &c;
  return nullptr;
}

// The topic's configs at version v: every topic key, operator-set values and
// their source, synonyms from v1, types and documentation from v3.
void expect_topic_configs(const kafka::DescribeConfigsResponse::Result& topic, std::int16_t v, const Config& cfg) {
  EXPECT_EQ(topic.error_code, 0);
  EXPECT_FALSE(topic.error_message.has_value());
  for (const char* name : {"cleanup.policy", "retention.ms", "retention.bytes", "segment.bytes", "segment.ms",
                           "max.message.bytes", "message.timestamp.type", "flush.messages", "flush.ms"}) {
    EXPECT_NE(find_config(topic, name), nullptr) << name;
  }
  const auto* ret = find_config(topic, "retention.ms");
  ASSERT_NE(ret, nullptr);
  EXPECT_EQ(ret->value, std::optional<std::string>("3600000"));
  EXPECT_FALSE(ret->read_only);
  EXPECT_FALSE(ret->is_sensitive);
  const auto* seg = find_config(topic, "segment.bytes");
  ASSERT_NE(seg, nullptr);
  EXPECT_EQ(seg->value, std::optional<std::string>("1048576"));
  const auto* mmb = find_config(topic, "max.message.bytes");
  ASSERT_NE(mmb, nullptr);
  EXPECT_EQ(mmb->value, std::optional<std::string>(std::to_string(cfg.max_message_bytes)));
  if (v == 0) {
    EXPECT_FALSE(ret->is_default);  // set by the operator
    EXPECT_TRUE(mmb->is_default);
    EXPECT_TRUE(ret->synonyms.empty());  // not on the wire before v1
  } else {
    EXPECT_EQ(ret->config_source, static_cast<std::int8_t>(kafka::ConfigSource::static_broker_config));
    EXPECT_EQ(mmb->config_source, static_cast<std::int8_t>(kafka::ConfigSource::default_config));
    // Synonyms: the broker's setting, then Kafka's default.
    ASSERT_EQ(ret->synonyms.size(), 2u);
    EXPECT_EQ(ret->synonyms[0].name, "log.retention.ms");
    EXPECT_EQ(ret->synonyms[0].value, std::optional<std::string>("3600000"));
    EXPECT_EQ(ret->synonyms[0].source, 4);
    EXPECT_EQ(ret->synonyms[1].value, std::optional<std::string>("604800000"));
    EXPECT_EQ(ret->synonyms[1].source, 5);
    ASSERT_EQ(mmb->synonyms.size(), 1u);
    EXPECT_EQ(mmb->synonyms[0].name, "message.max.bytes");
  }
  if (v >= 3) {
    EXPECT_EQ(ret->config_type, static_cast<std::int8_t>(kafka::ConfigType::long_));
    EXPECT_TRUE(ret->documentation.has_value());
  }
}

TEST_F(AdminApisTest, DescribeConfigsAtEveryVersion) {
  cfg.retention_ms = 3600000;  // set by the operator: STATIC_BROKER_CONFIG
  cfg.segment_bytes = 1 << 20;
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 2), 0);
  kafka::DescribeConfigsRequest req;
  req.resources = {{2, "t", std::nullopt},
                   {2, "missing", std::nullopt},
                   {4, "0", std::vector<std::string>{"log.retention.ms", "no.such.config"}},
                   {4, "7", std::nullopt},
                   {4, "", std::nullopt},
                   {8, "0", std::nullopt},
                   {99, "x", std::nullopt},
                   {2, "../x", std::nullopt},
                   {2, "t", std::vector<std::string>{"cleanup.policy"}}};
  req.include_synonyms = true;
  req.include_documentation = true;
  for (std::int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE("v" + std::to_string(v));
    auto res = n.call<kafka::DescribeConfigsResponse>(v, req);
    ASSERT_EQ(res.results.size(), req.resources.size());
    for (std::size_t i = 0; i < req.resources.size(); ++i) {
      EXPECT_EQ(res.results[i].resource_type, req.resources[i].resource_type);
      EXPECT_EQ(res.results[i].resource_name, req.resources[i].resource_name);
    }
    expect_topic_configs(res.results[0], v, cfg);
    EXPECT_EQ(res.results[1].error_code, to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_TRUE(res.results[1].configs.empty());
    const auto& broker = res.results[2];
    EXPECT_EQ(broker.error_code, 0);
    ASSERT_EQ(broker.configs.size(), 1u);  // unknown keys are left out
    EXPECT_EQ(broker.configs[0].name, "log.retention.ms");
    EXPECT_EQ(broker.configs[0].value, std::optional<std::string>("3600000"));
    EXPECT_TRUE(broker.configs[0].read_only);
    EXPECT_EQ(res.results[3].error_code, to_wire(ErrorCode::invalid_request));
    EXPECT_EQ(res.results[4].error_code, 0);  // cluster-wide dynamic defaults: none set
    EXPECT_TRUE(res.results[4].configs.empty());
    EXPECT_EQ(res.results[5].error_code, to_wire(ErrorCode::invalid_request));
    EXPECT_EQ(res.results[6].error_code, to_wire(ErrorCode::invalid_request));
    EXPECT_TRUE(res.results[6].error_message.has_value());
    EXPECT_EQ(res.results[7].error_code, to_wire(ErrorCode::invalid_topic_exception));
    ASSERT_EQ(res.results[8].configs.size(), 1u);
    EXPECT_EQ(res.results[8].configs[0].value, std::optional<std::string>("delete"));
  }
}

TEST_F(AdminApisTest, DescribeConfigsFollowsTheFlushPolicyAndBrokerSettings) {
  cfg.flush = FlushMode::interval;
  cfg.flush_interval_ms = 7;
  cfg.node_id = 3;
  cfg.auto_create_topics = false;
  TopicRegistry none(cfg, nullptr);
  ConfigDescriber d(cfg, none);
  std::map<std::string, ConfigDescriber::Entry> topic;
  for (auto& e : d.topic_entries()) topic[e.name] = e;
  EXPECT_EQ(topic["flush.ms"].value, "7");
  EXPECT_FALSE(topic["flush.ms"].is_default());
  EXPECT_EQ(topic["flush.messages"].value, "9223372036854775807");
  EXPECT_TRUE(topic["flush.messages"].is_default());
  cfg.flush = FlushMode::every;
  for (auto& e : d.topic_entries()) topic[e.name] = e;
  EXPECT_EQ(topic["flush.messages"].value, "1");
  std::map<std::string, ConfigDescriber::Entry> broker;
  for (auto& e : d.broker_entries()) broker[e.name] = e;
  EXPECT_EQ(broker["broker.id"].value, "3");
  EXPECT_EQ(broker["auto.create.topics.enable"].value, "false");
  EXPECT_FALSE(broker["auto.create.topics.enable"].is_default());
  EXPECT_EQ(broker["log.flush.interval.messages"].value, "1");
  EXPECT_EQ(broker["listeners"].value, "PLAINTEXT://127.0.0.1:9999");
  // Every topic config appears at broker level under its synonym.
  for (auto& [name, e] : topic) EXPECT_TRUE(broker.contains(e.synonym)) << e.synonym;
}

kafka::CreatePartitionsResponse::Result grow(Node& n, const std::string& topic, std::int32_t count,
                                             bool validate_only = false, std::int16_t version = 1) {
  kafka::CreatePartitionsRequest req;
  req.topics = {{topic, count, std::nullopt}};
  req.timeout_ms = 5000;
  req.validate_only = validate_only;
  auto res = n.call<kafka::CreatePartitionsResponse>(version, req);
  EXPECT_EQ(res.results.size(), 1u);
  return res.results.empty() ? kafka::CreatePartitionsResponse::Result{} : res.results[0];
}

TEST_F(AdminApisTest, CreatePartitionsGrowsPersistsAndValidates) {
  {
    Node n(cfg);
    ASSERT_EQ(n.topics.create("t", 2), 0);
    // validate_only changes nothing.
    EXPECT_EQ(grow(n, "t", 4, true).error_code, 0);
    EXPECT_EQ(n.topics.find("t")->partitions.size(), 2u);
    EXPECT_EQ(grow(n, "t", 4, false, 3).error_code, 0);  // flexible version
    ASSERT_EQ(n.topics.find("t")->partitions.size(), 4u);
    // A new partition takes appends and reads like any other.
    auto p3 = n.topics.find("t", 3);
    ASSERT_NE(p3, nullptr);
    auto batch = log::BatchBuilder().timestamp(1).add(std::string("k"), std::string("v")).build();
    EXPECT_EQ(p3->append(batch).error, 0);
    EXPECT_EQ(p3->high_watermark(), 1);
    // Not above the current count.
    auto same = grow(n, "t", 4);
    EXPECT_EQ(same.error_code, to_wire(ErrorCode::invalid_partitions));
    EXPECT_TRUE(same.error_message.has_value());
    EXPECT_EQ(grow(n, "t", 3).error_code, to_wire(ErrorCode::invalid_partitions));
    EXPECT_EQ(grow(n, "t", 3, true).error_code, to_wire(ErrorCode::invalid_partitions));
    EXPECT_EQ(grow(n, "nope", 3).error_code, to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_EQ(grow(n, "../x", 3).error_code, to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_EQ(grow(n, "__consumer_offsets", 3).error_code, to_wire(ErrorCode::invalid_request));
    EXPECT_EQ(grow(n, "t", 200000).error_code, to_wire(ErrorCode::invalid_partitions));
    // Assignments: one [this broker] per new partition.
    kafka::CreatePartitionsRequest req;
    req.topics = {{"t", 6, std::vector<kafka::CreatePartitionsRequest::Assignment>{{{0}}}},
                  {"u", 2, std::nullopt},
                  {"u", 3, std::nullopt}};
    auto res = n.call<kafka::CreatePartitionsResponse>(0, req);
    ASSERT_EQ(res.results.size(), 3u);
    EXPECT_EQ(res.results[0].error_code, to_wire(ErrorCode::invalid_replica_assignment));
    EXPECT_EQ(res.results[1].error_code, to_wire(ErrorCode::invalid_request));  // duplicate
    EXPECT_EQ(res.results[2].error_code, to_wire(ErrorCode::invalid_request));
    req.topics = {{"t", 6, std::vector<kafka::CreatePartitionsRequest::Assignment>{{{0}}, {{0, 1}}}}};
    EXPECT_EQ(n.call<kafka::CreatePartitionsResponse>(2, req).results[0].error_code,
              to_wire(ErrorCode::invalid_replica_assignment));
    req.topics = {{"t", 5, std::vector<kafka::CreatePartitionsRequest::Assignment>{{{0}}}}};
    EXPECT_EQ(n.call<kafka::CreatePartitionsResponse>(2, req).results[0].error_code, 0);
    EXPECT_EQ(n.topics.find("t")->partitions.size(), 5u);
    // An empty assignment list is no assignment (kafkajs sends []).
    req.topics = {{"t", 6, std::vector<kafka::CreatePartitionsRequest::Assignment>{}}};
    auto empty_res = n.call<kafka::CreatePartitionsResponse>(1, req);
    EXPECT_EQ(empty_res.results[0].error_code, 0) << empty_res.results[0].error_message.value_or("");
    // Metadata lists the new partitions.
    kafka::MetadataRequest md;
    md.topics = std::vector<kafka::MetadataRequest::Topic>{{kafka::Uuid{}, "t"}};
    auto mres = n.call<kafka::MetadataResponse>(1, md);
    ASSERT_EQ(mres.topics.size(), 1u);
    EXPECT_EQ(mres.topics[0].partitions.size(), 6u);
  }
  // Restart: the partition count and the new partition's data are on disk.
  Node again(cfg);
  auto t = again.topics.find("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->partitions.size(), 6u);
  EXPECT_EQ(again.topics.find("t", 3)->high_watermark(), 1);
}

kafka::OffsetCommitResponse commit(Node& n, const std::string& group, const std::string& topic, std::int32_t part,
                                   std::int64_t offset) {
  kafka::OffsetCommitRequest req;
  req.group_id = group;
  req.generation_id = -1;
  req.topics = {{.name = topic, .partitions = {{part, offset, -1, -1, std::nullopt}}}};
  return n.call<kafka::OffsetCommitResponse>(2, req);
}

std::int64_t fetched(Node& n, const std::string& group, const std::string& topic, std::int32_t part) {
  kafka::OffsetFetchRequest req;
  req.group_id = group;
  req.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = topic, .partition_indexes = {part}}};
  auto res = n.call<kafka::OffsetFetchResponse>(1, req);
  if (res.topics.size() != 1 || res.topics[0].partitions.size() != 1) return -2;
  return res.topics[0].partitions[0].committed_offset;
}

std::vector<std::string> listed(Node& n) {
  std::vector<std::string> out;
  for (auto& g : n.call<kafka::ListGroupsResponse>(0, kafka::ListGroupsRequest{}).groups) out.push_back(g.group_id);
  return out;
}

kafka::JoinGroupResponse join(Node& n, const std::string& group, const std::string& topic) {
  kafka::JoinGroupRequest req;
  req.group_id = group;
  req.session_timeout_ms = 30000;
  req.rebalance_timeout_ms = 30000;
  req.protocol_type = "consumer";
  // ConsumerProtocolSubscription v0: version, [topic], user data.
  kafka::Writer w;
  w.i16(0);
  w.i32(1);
  w.string(topic);
  w.bytes({});
  auto md = w.take_buffer();
  req.protocols = {{"range", kafka::ByteVec(md.begin(), md.end())}};
  return n.call<kafka::JoinGroupResponse>(1, req);  // v1: no MEMBER_ID_REQUIRED
}

// DeleteTopics v6 names each topic by name or by id; the answer carries both.
TEST_F(AdminApisTest, DeleteTopicsV6ByNameOrId) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("by-name", 1), 0);
  ASSERT_EQ(n.topics.create("by-id", 1), 0);
  const kafka::Uuid name_id = n.topics.find("by-name")->topic_id;
  const kafka::Uuid id = n.topics.find("by-id")->topic_id;
  ASSERT_FALSE(kafka::is_zero(id));
  kafka::Uuid unknown{};
  unknown.fill(std::byte{0x42});
  kafka::DeleteTopicsRequest req;
  req.topics = {{std::string("by-name"), kafka::kZeroUuid},
                {std::nullopt, id},
                {std::nullopt, unknown},
                {std::nullopt, kafka::kZeroUuid}};
  req.timeout_ms = 5000;
  auto res = n.call<kafka::DeleteTopicsResponse>(6, req);
  ASSERT_EQ(res.responses.size(), 4u);
  EXPECT_EQ(res.responses[0].error_code, 0);
  EXPECT_EQ(res.responses[0].name, std::optional<std::string>("by-name"));
  EXPECT_EQ(res.responses[0].topic_id, name_id);
  EXPECT_EQ(res.responses[1].error_code, 0);
  EXPECT_EQ(res.responses[1].name, std::optional<std::string>("by-id"));
  EXPECT_EQ(res.responses[1].topic_id, id);
  EXPECT_EQ(res.responses[2].error_code, to_wire(ErrorCode::unknown_topic_id));
  EXPECT_FALSE(res.responses[2].name.has_value());
  EXPECT_EQ(res.responses[3].error_code, to_wire(ErrorCode::invalid_request));
  EXPECT_FALSE(n.topics.find("by-name"));
  EXPECT_FALSE(n.topics.find("by-id"));
}

TEST_F(AdminApisTest, DeleteGroupsRemovesEmptyGroupsForGood) {
  {
    Node n(cfg);
    ASSERT_EQ(n.topics.create("t", 2), 0);
    EXPECT_EQ(commit(n, "gone", "t", 0, 5).topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(commit(n, "gone", "t", 1, 9).topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(commit(n, "kept", "t", 0, 3).topics[0].partitions[0].error_code, 0);
    auto j = join(n, "busy", "t");
    ASSERT_EQ(j.error_code, 0);
    EXPECT_EQ(fetched(n, "gone", "t", 1), 9);

    kafka::DeleteGroupsRequest req{{"gone", "busy", "never", ""}};
    for (std::int16_t v : {0, 2, 3}) {
      SCOPED_TRACE("v" + std::to_string(v));
      auto res = n.call<kafka::DeleteGroupsResponse>(v, req);
      ASSERT_EQ(res.results.size(), 4u);
      EXPECT_EQ(res.results[0].group_id, "gone");
      // The second time round "gone" no longer exists.
      EXPECT_EQ(res.results[0].error_code, v == 0 ? 0 : to_wire(ErrorCode::group_id_not_found));
      EXPECT_EQ(res.results[1].error_code, to_wire(ErrorCode::non_empty_group));
      EXPECT_EQ(res.results[2].error_code, to_wire(ErrorCode::group_id_not_found));
      EXPECT_EQ(res.results[3].error_code, to_wire(ErrorCode::invalid_group_id));
      // v3: every error says why; below v3 there is no message on the wire.
      using Msg = std::optional<std::string>;
      EXPECT_EQ(res.results[0].error_message, v < 3 ? Msg{} : Msg{"Group gone does not exist."});
      EXPECT_EQ(res.results[1].error_message, v < 3 ? Msg{} : Msg{"Group busy is not empty: it has 1 member."});
      EXPECT_EQ(res.results[2].error_message, v < 3 ? Msg{} : Msg{"Group never does not exist."});
      EXPECT_EQ(res.results[3].error_message, v < 3 ? Msg{} : Msg{"The group id is empty."});
    }
    EXPECT_EQ(fetched(n, "gone", "t", 0), -1);
    EXPECT_EQ(fetched(n, "gone", "t", 1), -1);
    EXPECT_EQ(fetched(n, "kept", "t", 0), 3);
    auto groups = listed(n);
    EXPECT_EQ(std::count(groups.begin(), groups.end(), "gone"), 0);
    EXPECT_EQ(std::count(groups.begin(), groups.end(), "kept"), 1);
    // The deleted group can be used again from scratch.
    EXPECT_EQ(commit(n, "gone", "t", 1, 1).topics[0].partitions[0].error_code, 0);
    kafka::DeleteGroupsRequest again{{"gone"}};
    auto deleted = n.call<kafka::DeleteGroupsResponse>(3, again).results.at(0);
    EXPECT_EQ(deleted.error_code, 0);
    EXPECT_FALSE(deleted.error_message.has_value()) << "a deleted group has no message";
  }
  // Restart: the tombstones keep "gone" deleted; the others are back.
  Node n(cfg);
  EXPECT_EQ(fetched(n, "gone", "t", 0), -1);
  EXPECT_EQ(fetched(n, "gone", "t", 1), -1);
  EXPECT_EQ(fetched(n, "kept", "t", 0), 3);
  auto groups = listed(n);
  EXPECT_EQ(std::count(groups.begin(), groups.end(), "gone"), 0);
  EXPECT_EQ(std::count(groups.begin(), groups.end(), "kept"), 1);
}

TEST_F(AdminApisTest, OffsetDeleteKeepsSubscribedTopicsAndPersists) {
  {
    Node n(cfg);
    ASSERT_EQ(n.topics.create("t", 2), 0);
    ASSERT_EQ(n.topics.create("u", 1), 0);
    EXPECT_EQ(commit(n, "g", "t", 0, 5).topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(commit(n, "g", "t", 1, 6).topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(commit(n, "g", "u", 0, 7).topics[0].partitions[0].error_code, 0);
    kafka::OffsetDeleteRequest req{"g", {{"t", {0}}}};
    auto res = n.call<kafka::OffsetDeleteResponse>(0, req);
    EXPECT_EQ(res.error_code, 0);
    ASSERT_EQ(res.topics.size(), 1u);
    ASSERT_EQ(res.topics[0].partitions.size(), 1u);
    EXPECT_EQ(res.topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(fetched(n, "g", "t", 0), -1);
    EXPECT_EQ(fetched(n, "g", "t", 1), 6);
    // A member subscribed to "u": its offsets stay.
    ASSERT_EQ(join(n, "g", "u").error_code, 0);
    kafka::OffsetDeleteRequest both{"g", {{"u", {0}}, {"t", {1}}}};
    res = n.call<kafka::OffsetDeleteResponse>(0, both);
    EXPECT_EQ(res.error_code, 0);
    ASSERT_EQ(res.topics.size(), 2u);
    EXPECT_EQ(res.topics[0].partitions[0].error_code, to_wire(ErrorCode::group_subscribed_to_topic));
    EXPECT_EQ(res.topics[1].partitions[0].error_code, 0);
    EXPECT_EQ(fetched(n, "g", "u", 0), 7);
    EXPECT_EQ(fetched(n, "g", "t", 1), -1);
    kafka::OffsetDeleteRequest unknown{"nobody", {{"t", {0}}}};
    EXPECT_EQ(n.call<kafka::OffsetDeleteResponse>(0, unknown).error_code, to_wire(ErrorCode::group_id_not_found));
  }
  Node n(cfg);
  EXPECT_EQ(fetched(n, "g", "t", 0), -1);
  EXPECT_EQ(fetched(n, "g", "t", 1), -1);
  EXPECT_EQ(fetched(n, "g", "u", 0), 7);
}

// ListOffsets by timestamp lands on the record inside a compressed batch
// (the log alone answers the batch's base offset). The batch is built by
// zstd-compressing the records of an uncompressed one.
TEST_F(AdminApisTest, ListOffsetsByTimestampLooksInsideCompressedBatches) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("z", 1), 0);
  auto part = n.topics.find("z", 0);
  auto first = log::BatchBuilder().timestamp(1000).add(std::string("a"), std::string("b")).build();
  ASSERT_EQ(part->append(first).error, 0);
  log::BatchBuilder b;
  b.timestamp(2000);
  for (int i = 0; i < 50; ++i) b.add("k" + std::to_string(i), std::string(40, 'v'), {}, 10 * i);
  auto plain = b.build();
  auto batch = testing::zstd_batch(plain);
  ASSERT_EQ(part->append(batch).error, 0);  // offsets 1..50
  auto lookup = [&](std::int64_t ts) {
    kafka::ListOffsetsRequest req;
    req.topics = {{"z", {{.partition_index = 0, .timestamp = ts}}}};
    auto res = n.call<kafka::ListOffsetsResponse>(1, req);
    return res.topics.at(0).partitions.at(0).offset;
  };
  EXPECT_EQ(lookup(500), 0);
  EXPECT_EQ(lookup(1001), 1);
  EXPECT_EQ(lookup(2000), 1);
  EXPECT_EQ(lookup(2001), 2);
  EXPECT_EQ(lookup(2250), 26);
  EXPECT_EQ(lookup(2490), 50);
  EXPECT_EQ(lookup(2491), -1);
}

}  // namespace
}  // namespace nocopy::broker
