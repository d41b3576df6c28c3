// The group APIs at the versions Kafka 4.x added, through the real
// RequestHandler/GroupsService: OffsetCommit v9 (GROUP_ID_NOT_FOUND) and
// v10 / OffsetFetch v10 (topics by id, UNKNOWN_TOPIC_ID), ListGroups v4-v5
// filters, JoinGroup v7+ protocol type, SyncGroup v5 protocol check,
// DescribeGroups v6 (GROUP_ID_NOT_FOUND) and FindCoordinator v6 key types.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "kafka/writer.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;

class GroupVersionsTest : public testing::NodeTest {};

kafka::Uuid some_id(int first) {
  kafka::Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(first + static_cast<int>(i));
  return id;
}

TEST_F(GroupVersionsTest, OffsetCommitAndFetchByTopicId) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 2), 0);
  const kafka::Uuid id = n.topics.find("t")->topic_id;
  const kafka::Uuid unknown = some_id(0x40);
  kafka::OffsetCommitRequest c;
  c.group_id = "g";
  c.generation_id = -1;
  c.topics = {{.topic_id = id, .partitions = {{0, 5, -1, -1, std::string("md")}}},
              {.topic_id = unknown, .partitions = {{0, 1, -1, -1, std::nullopt}, {1, 2, -1, -1, std::nullopt}}}};
  auto cr = n.call<kafka::OffsetCommitResponse>(10, c);
  ASSERT_EQ(cr.topics.size(), 2u);
  EXPECT_EQ(cr.topics[0].topic_id, id);
  EXPECT_EQ(cr.topics[0].partitions.at(0).error_code, 0);
  EXPECT_EQ(cr.topics[1].topic_id, unknown);
  ASSERT_EQ(cr.topics[1].partitions.size(), 2u);
  EXPECT_EQ(cr.topics[1].partitions[1].error_code, to_wire(ErrorCode::unknown_topic_id));

  kafka::OffsetFetchRequest f;
  f.groups = {{.group_id = "g",
               .topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.topic_id = id, .partition_indexes = {0, 1}},
                                                                       {.topic_id = unknown, .partition_indexes = {0}}}}};
  auto fr = n.call<kafka::OffsetFetchResponse>(10, f);
  ASSERT_EQ(fr.groups.size(), 1u);
  ASSERT_EQ(fr.groups[0].topics.size(), 2u);
  EXPECT_EQ(fr.groups[0].topics[0].topic_id, id);
  EXPECT_EQ(fr.groups[0].topics[0].partitions.at(0).committed_offset, 5);
  EXPECT_EQ(fr.groups[0].topics[0].partitions.at(0).metadata, "md");
  EXPECT_EQ(fr.groups[0].topics[0].partitions.at(1).committed_offset, -1);
  EXPECT_EQ(fr.groups[0].topics[1].topic_id, unknown);
  EXPECT_EQ(fr.groups[0].topics[1].partitions.at(0).error_code, to_wire(ErrorCode::unknown_topic_id));
  // Every committed offset of the group (null topics), by id.
  f.groups[0].topics.reset();
  fr = n.call<kafka::OffsetFetchResponse>(10, f);
  ASSERT_EQ(fr.groups.at(0).topics.size(), 1u);
  EXPECT_EQ(fr.groups[0].topics[0].topic_id, id);
  EXPECT_EQ(fr.groups[0].topics[0].partitions.at(0).committed_offset, 5);
  // v9: by name, with a classic consumer's null member id and epoch -1.
  f.groups = {{.group_id = "g",
               .topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "t", .partition_indexes = {0}}}}};
  fr = n.call<kafka::OffsetFetchResponse>(9, f);
  EXPECT_EQ(fr.groups.at(0).topics.at(0).partitions.at(0).committed_offset, 5);
}

TEST_F(GroupVersionsTest, OffsetCommitToAGroupThatDoesNotExist) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  kafka::OffsetCommitRequest c;
  c.group_id = "nobody";
  c.generation_id = 3;
  c.member_id = "m";
  c.topics = {{.name = "t", .partitions = {{0, 5, -1, -1, std::nullopt}}}};
  EXPECT_EQ(n.call<kafka::OffsetCommitResponse>(9, c).topics.at(0).partitions.at(0).error_code,
            to_wire(ErrorCode::group_id_not_found));
  EXPECT_EQ(n.call<kafka::OffsetCommitResponse>(8, c).topics.at(0).partitions.at(0).error_code,
            to_wire(ErrorCode::illegal_generation));
  // Generation -1 and no member: a simple group that only stores offsets.
  c.generation_id = -1;
  c.member_id = "";
  EXPECT_EQ(n.call<kafka::OffsetCommitResponse>(9, c).topics.at(0).partitions.at(0).error_code, 0);
}

kafka::JoinGroupRequest join_request(const std::string& member) {
  kafka::JoinGroupRequest req;
  req.group_id = "jg";
  req.session_timeout_ms = 30000;
  req.rebalance_timeout_ms = 30000;
  req.member_id = member;
  req.protocol_type = "consumer";
  req.protocols = {{"range", kafka::ByteVec{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                                            std::byte{0}}}};
  req.reason = "test";
  return req;
}

TEST_F(GroupVersionsTest, JoinSyncDescribeAndListAtTheNewestVersions) {
  Node n(cfg);
  auto first = n.call<kafka::JoinGroupResponse>(9, join_request(""));
  ASSERT_EQ(first.error_code, to_wire(ErrorCode::member_id_required));
  EXPECT_FALSE(first.protocol_type.has_value());
  auto j = n.call<kafka::JoinGroupResponse>(9, join_request(first.member_id));
  ASSERT_EQ(j.error_code, 0);
  EXPECT_EQ(j.protocol_type, std::optional<std::string>("consumer"));
  EXPECT_EQ(j.protocol_name, "range");
  EXPECT_FALSE(j.skip_assignment);
  EXPECT_EQ(j.leader, j.member_id);

  kafka::SyncGroupRequest s;
  s.group_id = "jg";
  s.generation_id = j.generation_id;
  s.member_id = j.member_id;
  s.protocol_type = "consumer";
  s.protocol_name = "roundrobin";  // not the group's
  EXPECT_EQ(n.call<kafka::SyncGroupResponse>(5, s).error_code, to_wire(ErrorCode::inconsistent_group_protocol));
  s.protocol_type = "connect";
  s.protocol_name = std::nullopt;
  EXPECT_EQ(n.call<kafka::SyncGroupResponse>(5, s).error_code, to_wire(ErrorCode::inconsistent_group_protocol));
  s.protocol_type = "consumer";
  s.protocol_name = "range";
  s.assignments = {{j.member_id, kafka::ByteVec{std::byte{7}}}};
  auto sr = n.call<kafka::SyncGroupResponse>(5, s);
  ASSERT_EQ(sr.error_code, 0);
  EXPECT_EQ(sr.protocol_type, std::optional<std::string>("consumer"));
  EXPECT_EQ(sr.protocol_name, std::optional<std::string>("range"));
  EXPECT_EQ(sr.assignment, kafka::ByteVec{std::byte{7}});

  kafka::DescribeGroupsRequest d;
  d.groups = {"jg", "missing"};
  auto dr = n.call<kafka::DescribeGroupsResponse>(6, d);
  ASSERT_EQ(dr.groups.size(), 2u);
  EXPECT_EQ(dr.groups[0].error_code, 0);
  EXPECT_EQ(dr.groups[0].group_state, "Stable");
  EXPECT_EQ(dr.groups[1].error_code, to_wire(ErrorCode::group_id_not_found));
  EXPECT_EQ(dr.groups[1].error_message, std::optional<std::string>("Group missing not found."));
  dr = n.call<kafka::DescribeGroupsResponse>(5, d);  // before v6: Dead, no error
  EXPECT_EQ(dr.groups[1].error_code, 0);
  EXPECT_EQ(dr.groups[1].group_state, "Dead");

  auto list = [&](std::vector<std::string> states, std::vector<std::string> types) {
    kafka::ListGroupsRequest l;
    l.states_filter = std::move(states);
    l.types_filter = std::move(types);
    auto r = n.call<kafka::ListGroupsResponse>(5, l);
    EXPECT_EQ(r.error_code, 0);
    std::vector<std::string> out;
    for (const auto& g : r.groups) {
      EXPECT_EQ(g.group_type, "classic");
      out.push_back(g.group_id + ":" + g.group_state);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list({}, {}), V{"jg:Stable"});
  EXPECT_EQ(list({"stable"}, {}), V{"jg:Stable"});
  EXPECT_EQ(list({"Empty"}, {}), V{});
  EXPECT_EQ(list({}, {"Classic"}), V{"jg:Stable"});
  EXPECT_EQ(list({}, {"consumer"}), V{});
}

TEST_F(GroupVersionsTest, FindCoordinatorKeyTypes) {
  Node n(cfg);
  kafka::FindCoordinatorRequest f;
  f.coordinator_keys = {"g"};
  for (std::int8_t type : {0, 1}) {
    f.key_type = type;
    auto r = n.call<kafka::FindCoordinatorResponse>(6, f);
    ASSERT_EQ(r.coordinators.size(), 1u);
    EXPECT_EQ(r.coordinators[0].error_code, 0);
  }
  f.key_type = 2;  // share groups: not here
  auto r = n.call<kafka::FindCoordinatorResponse>(6, f);
  ASSERT_EQ(r.coordinators.size(), 1u);
  EXPECT_EQ(r.coordinators[0].key, "g");
  EXPECT_EQ(r.coordinators[0].error_code, to_wire(ErrorCode::invalid_request));
}

}  // namespace
}  // namespace nocopy::broker
