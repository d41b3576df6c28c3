#include "broker/group_coordinator.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "group_test_util.h"
#include "kafka/error_code.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using std::chrono::milliseconds;
using TimePoint = GroupCoordinator::TimePoint;
using namespace testing;  // bytes, Slot, MemoryOffsetLog

class GroupTest : public ::testing::Test {
 protected:
  GroupTest() : gc_(config(), &log_) {}

  static GroupCoordinatorConfig config() {
    GroupCoordinatorConfig c;
    c.initial_rebalance_delay = milliseconds(0);
    c.member_id_seed = 42;
    return c;
  }

  static kafka::JoinGroupRequest join_req(const std::string& member_id, std::string proto_md = "md",
                                          std::int32_t session_ms = 10000, std::int32_t rebalance_ms = 30000) {
    kafka::JoinGroupRequest r;
    r.group_id = "g";
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = rebalance_ms;
    r.member_id = member_id;
    r.protocol_type = "consumer";
    r.protocols = {{"range", bytes(proto_md)}, {"roundrobin", bytes("rr")}};
    return r;
  }

  // Full JoinGroup v5 handshake for a new member: MEMBER_ID_REQUIRED, rejoin.
  std::string new_member_id(const std::string& client = "c") {
    Slot<kafka::JoinGroupResponse> first;
    gc_.join_group(join_req(""), 5, client, "/127.0.0.1", now_, first.callback());
    EXPECT_EQ(first.calls, 1);
    EXPECT_EQ(first.value->error_code, to_wire(ErrorCode::member_id_required));
    EXPECT_FALSE(first.value->member_id.empty());
    return first.value->member_id;
  }

  void join(const std::string& member_id, Slot<kafka::JoinGroupResponse>& slot, std::string md = "md") {
    gc_.join_group(join_req(member_id, std::move(md)), 5, "c", "/127.0.0.1", now_, slot.callback());
  }

  void sync(const std::string& member_id, std::int32_t gen, Slot<kafka::SyncGroupResponse>& slot,
            std::vector<kafka::SyncGroupRequest::Assignment> assignments = {}) {
    kafka::SyncGroupRequest r;
    r.group_id = "g";
    r.generation_id = gen;
    r.member_id = member_id;
    r.assignments = std::move(assignments);
    gc_.sync_group(r, now_, slot.callback());
  }

  std::int16_t heartbeat(const std::string& member_id, std::int32_t gen) {
    kafka::HeartbeatRequest r{"g", gen, member_id, std::nullopt};
    return gc_.heartbeat(r, now_).error_code;
  }

  // One member joined and synced into a stable generation; returns its id.
  std::string stable_single(Slot<kafka::JoinGroupResponse>& j) {
    std::string id = new_member_id();
    join(id, j);
    Slot<kafka::SyncGroupResponse> s;
    sync(id, j.value->generation_id, s, {{id, bytes("all")}});
    EXPECT_EQ(s.value->error_code, 0);
    return id;
  }

  // Members a (the leader) and b synced into generation 2, assigned "x" and "y".
  std::pair<std::string, std::string> stable_pair() {
    Slot<kafka::JoinGroupResponse> ja;
    std::string a = stable_single(ja);
    std::string b = new_member_id();
    Slot<kafka::JoinGroupResponse> jb, ja2;
    join(b, jb);
    join(a, ja2);
    Slot<kafka::SyncGroupResponse> sa, sb;
    sync(a, 2, sa, {{a, bytes("x")}, {b, bytes("y")}});
    sync(b, 2, sb);
    return {a, b};
  }

  // `member` rejoins and, the only member left, leads generation `gen`.
  void rejoin_alone(const std::string& member, std::int32_t gen) {
    Slot<kafka::JoinGroupResponse> j;
    join(member, j);
    ASSERT_EQ(j.calls, 1);
    EXPECT_EQ(j.value->generation_id, gen);
    EXPECT_EQ(j.value->leader, member);
    EXPECT_EQ(j.value->members.size(), 1u);
  }

  kafka::OffsetCommitResponse commit(std::int32_t gen, const std::string& member, std::int64_t offset,
                                     std::string group = "g") {
    kafka::OffsetCommitRequest r;
    r.group_id = std::move(group);
    r.generation_id = gen;
    r.member_id = member;
    r.topics = {{.name = "t", .partitions = {{0, offset, -1, -1, std::string("meta")}}}};
    return gc_.offset_commit(r, 8, now_, 1700000000000);
  }

  std::int64_t fetched(const GroupCoordinator& gc, std::string group, std::string topic, std::int32_t part) {
    kafka::OffsetFetchRequest r;
    r.group_id = std::move(group);
    r.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = std::move(topic), .partition_indexes = {part}}};
    auto resp = gc.offset_fetch(r);
    EXPECT_EQ(resp.error_code, 0);
    EXPECT_EQ(resp.topics.at(0).partitions.at(0).error_code, 0);
    return resp.topics.at(0).partitions.at(0).committed_offset;
  }

  MemoryOffsetLog log_;
  GroupCoordinator gc_;
  TimePoint now_{milliseconds(1000000)};
};

TEST_F(GroupTest, MemberIdRequiredThenSingleMemberGeneration) {
  std::string id = new_member_id("rdkafka");
  EXPECT_EQ(id.rfind("rdkafka-", 0), 0u);
  Slot<kafka::JoinGroupResponse> j;
  join(id, j);
  ASSERT_EQ(j.calls, 1);  // the only member: the rebalance completes at once
  EXPECT_EQ(j.value->error_code, 0);
  EXPECT_EQ(j.value->generation_id, 1);
  EXPECT_EQ(j.value->leader, id);
  EXPECT_EQ(j.value->member_id, id);
  EXPECT_EQ(j.value->protocol_name, "range");
  ASSERT_EQ(j.value->members.size(), 1u);
  EXPECT_EQ(j.value->members[0].metadata, bytes("md"));
  EXPECT_EQ(gc_.state_name("g"), "CompletingRebalance");

  Slot<kafka::SyncGroupResponse> s;
  sync(id, 1, s, {{id, bytes("assignment-1")}});
  ASSERT_EQ(s.calls, 1);
  EXPECT_EQ(s.value->error_code, 0);
  EXPECT_EQ(s.value->assignment, bytes("assignment-1"));
  EXPECT_EQ(gc_.state_name("g"), "Stable");
  EXPECT_EQ(heartbeat(id, 1), 0);
}

TEST_F(GroupTest, OldJoinVersionsGetAMemberIdDirectly) {
  Slot<kafka::JoinGroupResponse> j;
  gc_.join_group(join_req(""), 2, "kafka-python", "/h", now_, j.callback());
  ASSERT_EQ(j.calls, 1);
  EXPECT_EQ(j.value->error_code, 0);
  EXPECT_FALSE(j.value->member_id.empty());
  EXPECT_EQ(j.value->generation_id, 1);
}

TEST_F(GroupTest, SecondMemberTriggersRebalanceAndSplitsAssignments) {
  Slot<kafka::JoinGroupResponse> ja;
  std::string a = stable_single(ja);
  std::string b = new_member_id();
  Slot<kafka::JoinGroupResponse> jb;
  join(b, jb, "md-b");
  EXPECT_EQ(jb.calls, 0);  // waits for a to rejoin
  EXPECT_EQ(gc_.state_name("g"), "PreparingRebalance");
  EXPECT_EQ(heartbeat(a, 1), to_wire(ErrorCode::rebalance_in_progress));

  Slot<kafka::JoinGroupResponse> ja2;
  join(a, ja2);
  ASSERT_EQ(ja2.calls, 1);
  ASSERT_EQ(jb.calls, 1);
  EXPECT_EQ(ja2.value->generation_id, 2);
  EXPECT_EQ(jb.value->generation_id, 2);
  EXPECT_EQ(ja2.value->leader, a);  // the old leader stays leader
  EXPECT_EQ(jb.value->leader, a);
  EXPECT_EQ(ja2.value->members.size(), 2u);
  EXPECT_TRUE(jb.value->members.empty());  // only the leader sees the members

  // Follower syncs first and waits for the leader's assignment.
  Slot<kafka::SyncGroupResponse> sb, sa;
  sync(b, 2, sb);
  EXPECT_EQ(sb.calls, 0);
  sync(a, 2, sa, {{a, bytes("p0,p1,p2")}, {b, bytes("p3,p4,p5")}});
  ASSERT_EQ(sa.calls, 1);
  ASSERT_EQ(sb.calls, 1);
  EXPECT_EQ(sa.value->assignment, bytes("p0,p1,p2"));
  EXPECT_EQ(sb.value->assignment, bytes("p3,p4,p5"));
  EXPECT_EQ(gc_.state_name("g"), "Stable");

  // Stale generation everywhere.
  EXPECT_EQ(heartbeat(a, 1), to_wire(ErrorCode::illegal_generation));
  Slot<kafka::SyncGroupResponse> stale;
  sync(b, 1, stale);
  EXPECT_EQ(stale.value->error_code, to_wire(ErrorCode::illegal_generation));
  EXPECT_EQ(commit(1, a, 5).topics[0].partitions[0].error_code, to_wire(ErrorCode::illegal_generation));
  EXPECT_EQ(commit(2, a, 5).topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(fetched(gc_, "g", "t", 0), 5);
}

TEST_F(GroupTest, FollowerRejoinWithSameMetadataWhenStableGetsCurrentGeneration) {
  auto [a, b] = stable_pair();
  ASSERT_EQ(gc_.state_name("g"), "Stable");
  Slot<kafka::JoinGroupResponse> again;
  join(b, again);
  ASSERT_EQ(again.calls, 1);
  EXPECT_EQ(again.value->generation_id, 2);
  EXPECT_EQ(gc_.state_name("g"), "Stable");
  // The leader rejoining always rebalances.
  Slot<kafka::JoinGroupResponse> lead;
  join(a, lead);
  EXPECT_EQ(gc_.state_name("g"), "PreparingRebalance");
}

TEST_F(GroupTest, LeaveHandsPartitionsToTheRemainingMember) {
  auto [a, b] = stable_pair();

  kafka::LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.member_id = a;
  leave.members = {{a, std::nullopt}};
  auto lr = gc_.leave_group(leave, 0, now_);
  EXPECT_EQ(lr.error_code, 0);
  EXPECT_EQ(gc_.state_name("g"), "PreparingRebalance");
  EXPECT_EQ(heartbeat(b, 2), to_wire(ErrorCode::rebalance_in_progress));
  rejoin_alone(b, 3);
  EXPECT_EQ(heartbeat(a, 3), to_wire(ErrorCode::unknown_member_id));
}

TEST_F(GroupTest, BatchLeaveReportsPerMemberErrors) {
  Slot<kafka::JoinGroupResponse> ja;
  std::string a = stable_single(ja);
  kafka::LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.members = {{a, std::nullopt}, {"nobody", std::string("inst")}};
  auto lr = gc_.leave_group(leave, 3, now_);
  EXPECT_EQ(lr.error_code, 0);
  ASSERT_EQ(lr.members.size(), 2u);
  EXPECT_EQ(lr.members[0].error_code, 0);
  EXPECT_EQ(lr.members[1].error_code, to_wire(ErrorCode::unknown_member_id));
  EXPECT_EQ(lr.members[1].group_instance_id, std::optional<std::string>("inst"));
  EXPECT_EQ(gc_.state_name("g"), "Empty");
  EXPECT_EQ(gc_.generation("g"), 2);  // leaving ends generation 1

  // v0-2: the single member's error becomes the top-level error.
  kafka::LeaveGroupRequest old;
  old.group_id = "g";
  old.member_id = "ghost";
  old.members = {{"ghost", std::nullopt}};
  EXPECT_EQ(gc_.leave_group(old, 1, now_).error_code, to_wire(ErrorCode::unknown_member_id));
  kafka::LeaveGroupRequest unknown_group = old;
  unknown_group.group_id = "nope";
  EXPECT_EQ(gc_.leave_group(unknown_group, 3, now_).members[0].error_code, to_wire(ErrorCode::unknown_member_id));
}

TEST_F(GroupTest, SessionTimeoutRemovesSilentMember) {
  auto [a, b] = stable_pair();
  ASSERT_TRUE(gc_.next_deadline().has_value());
  EXPECT_EQ(*gc_.next_deadline(), now_ + milliseconds(10000));

  now_ += milliseconds(6000);
  EXPECT_EQ(heartbeat(b, 2), 0);  // only b keeps heartbeating
  now_ += milliseconds(4000);
  gc_.tick(now_);  // a's session (10 s) is over
  EXPECT_EQ(gc_.state_name("g"), "PreparingRebalance");
  EXPECT_EQ(heartbeat(a, 2), to_wire(ErrorCode::unknown_member_id));
  rejoin_alone(b, 3);
}

TEST_F(GroupTest, RebalanceTimeoutDropsMembersThatDoNotRejoin) {
  Slot<kafka::JoinGroupResponse> ja;
  std::string a = stable_single(ja);
  std::string b = new_member_id();
  Slot<kafka::JoinGroupResponse> jb;
  join(b, jb);  // a never rejoins, but keeps heartbeating
  for (int i = 0; i < 5; ++i) {
    now_ += milliseconds(5000);
    EXPECT_EQ(heartbeat(a, 1), to_wire(ErrorCode::rebalance_in_progress));
    gc_.tick(now_);
    EXPECT_EQ(jb.calls, 0);
  }
  now_ += milliseconds(5000);  // 30 s rebalance timeout reached
  gc_.tick(now_);
  ASSERT_EQ(jb.calls, 1);
  EXPECT_EQ(jb.value->generation_id, 2);
  EXPECT_EQ(jb.value->leader, b);
  EXPECT_EQ(heartbeat(a, 2), to_wire(ErrorCode::unknown_member_id));
}

TEST(GroupDelay, InitialRebalanceDelayWaitsForMoreMembers) {
  GroupCoordinatorConfig cfg;
  cfg.initial_rebalance_delay = milliseconds(3000);
  GroupCoordinator gc(cfg, nullptr);
  TimePoint t{milliseconds(5000)};
  kafka::JoinGroupRequest r;
  r.group_id = "g";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 60000;
  r.protocol_type = "consumer";
  r.protocols = {{"range", {}}};
  Slot<kafka::JoinGroupResponse> a, b;
  gc.join_group(r, 2, "a", "h", t, a.callback());
  EXPECT_EQ(a.calls, 0);
  ASSERT_TRUE(gc.next_deadline().has_value());
  EXPECT_EQ(*gc.next_deadline(), t + milliseconds(3000));
  t += milliseconds(2000);
  gc.join_group(r, 2, "b", "h", t, b.callback());  // extends the delay to t+3000
  gc.tick(t + milliseconds(2000));
  EXPECT_EQ(a.calls, 0);
  gc.tick(t + milliseconds(3000));
  ASSERT_EQ(a.calls, 1);
  ASSERT_EQ(b.calls, 1);
  EXPECT_EQ(a.value->generation_id, 1);
  EXPECT_EQ(b.value->generation_id, 1);
  EXPECT_EQ(a.value->members.size() + b.value->members.size(), 2u);
}

TEST_F(GroupTest, MalformedJoinsGetKafkaErrors) {
  auto expect_error = [&](kafka::JoinGroupRequest r, ErrorCode e) {
    Slot<kafka::JoinGroupResponse> s;
    gc_.join_group(r, 5, "c", "h", now_, s.callback());
    ASSERT_EQ(s.calls, 1);
    EXPECT_EQ(s.value->error_code, to_wire(e));
  };
  auto r = join_req("");
  r.protocols.clear();
  expect_error(r, ErrorCode::inconsistent_group_protocol);
  r = join_req("");
  r.session_timeout_ms = 1000;
  expect_error(r, ErrorCode::invalid_session_timeout);
  r = join_req("");
  r.session_timeout_ms = 1800001;
  expect_error(r, ErrorCode::invalid_session_timeout);
  r = join_req("");
  r.group_id = "";
  expect_error(r, ErrorCode::invalid_group_id);
  expect_error(join_req("made-up-member"), ErrorCode::unknown_member_id);
  // A 10 KB group id is legal Kafka: it works.
  r = join_req("");
  r.group_id = std::string(10240, 'g');
  expect_error(r, ErrorCode::member_id_required);

  // Protocol type / protocols must match the group's.
  Slot<kafka::JoinGroupResponse> ja;
  stable_single(ja);
  r = join_req("");
  r.protocol_type = "connect";
  expect_error(r, ErrorCode::inconsistent_group_protocol);
  r = join_req("");
  r.protocols = {{"sticky", {}}};
  expect_error(r, ErrorCode::inconsistent_group_protocol);

  EXPECT_EQ(heartbeat("ghost", 1), to_wire(ErrorCode::unknown_member_id));
  kafka::HeartbeatRequest hb{"no-such-group", 1, "m", std::nullopt};
  EXPECT_EQ(gc_.heartbeat(hb, now_).error_code, to_wire(ErrorCode::unknown_member_id));
  Slot<kafka::SyncGroupResponse> s;
  sync("ghost", 1, s);
  EXPECT_EQ(s.value->error_code, to_wire(ErrorCode::unknown_member_id));
}

TEST_F(GroupTest, PendingMemberIdExpiresAndEmptyGroupIsForgotten) {
  std::string id = new_member_id();
  EXPECT_EQ(gc_.group_count(), 1u);
  ASSERT_TRUE(gc_.next_deadline().has_value());
  now_ += milliseconds(10000);
  gc_.tick(now_);
  EXPECT_EQ(gc_.group_count(), 0u);
  Slot<kafka::JoinGroupResponse> late;
  join(id, late);
  EXPECT_EQ(late.value->error_code, to_wire(ErrorCode::unknown_member_id));
}

TEST_F(GroupTest, OffsetsMinusOneWhenNothingCommitted) {
  EXPECT_EQ(fetched(gc_, "g", "t", 0), -1);
  kafka::OffsetFetchRequest all;
  all.group_id = "g";
  all.topics.reset();
  EXPECT_TRUE(gc_.offset_fetch(all).topics.empty());
}

TEST_F(GroupTest, OffsetFetchManyGroupsAtOnce) {
  ASSERT_EQ(commit(-1, "", 42).topics[0].partitions[0].error_code, 0);
  ASSERT_EQ(commit(-1, "", 7, "other").topics[0].partitions[0].error_code, 0);
  kafka::OffsetFetchRequest req;  // the v8 shape: groups, not group_id/topics
  req.groups = {{.group_id = "g", .topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "t", .partition_indexes = {0, 1}}}},
                {"other", std::nullopt},
                {"", std::nullopt}};
  auto resp = gc_.offset_fetch(req);
  EXPECT_TRUE(resp.topics.empty());
  ASSERT_EQ(resp.groups.size(), 3u);
  EXPECT_EQ(resp.groups[0].group_id, "g");
  EXPECT_EQ(resp.groups[0].error_code, 0);
  ASSERT_EQ(resp.groups[0].topics.at(0).partitions.size(), 2u);
  EXPECT_EQ(resp.groups[0].topics[0].partitions[0].committed_offset, 42);
  EXPECT_EQ(resp.groups[0].topics[0].partitions[1].committed_offset, -1);
  // null topics: every partition the group committed.
  ASSERT_EQ(resp.groups[1].topics.size(), 1u);
  EXPECT_EQ(resp.groups[1].topics[0].partitions.at(0).committed_offset, 7);
  EXPECT_EQ(resp.groups[2].error_code, to_wire(ErrorCode::invalid_group_id));
}

TEST_F(GroupTest, SimpleCommitsPersistAndReplay) {
  // generation -1: a consumer with manual assignment storing offsets.
  EXPECT_EQ(commit(-1, "", 42).topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(commit(-1, "", 43).topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(commit(-1, "", 7, "other").topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(fetched(gc_, "g", "t", 0), 43);
  ASSERT_EQ(log_.records.size(), 3u);

  GroupCoordinator restarted(config(), nullptr);
  for (const auto& [k, v] : log_.records) ASSERT_TRUE(restarted.replay(k, v));
  EXPECT_EQ(fetched(restarted, "g", "t", 0), 43);  // last record per key wins
  EXPECT_EQ(fetched(restarted, "other", "t", 0), 7);
  EXPECT_EQ(fetched(restarted, "g", "t", 1), -1);
  kafka::OffsetFetchRequest all;
  all.group_id = "g";
  all.topics.reset();
  auto resp = restarted.offset_fetch(all);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].partitions[0].metadata, std::optional<std::string>("meta"));
  EXPECT_EQ(restarted.list_groups().groups.size(), 2u);

  // Unknown record kinds are skipped, garbage is reported.
  auto other_kind = GroupCoordinator::encode_offset_key({"g", "t", 0});
  other_kind[1] = std::byte{2};
  EXPECT_TRUE(restarted.replay(other_kind, {}));
  auto key = GroupCoordinator::encode_offset_key({"g", "t", 0});
  auto value = GroupCoordinator::encode_offset_value({1, -1, "", 0});
  for (std::size_t cut = 0; cut < value.size(); ++cut) {
    EXPECT_FALSE(restarted.replay(key, std::span(value).first(cut)));
  }
  EXPECT_EQ(fetched(restarted, "g", "t", 0), 43);
}

TEST_F(GroupTest, CommitErrors) {
  // Unknown group with a generation: ILLEGAL_GENERATION, nothing stored.
  EXPECT_EQ(commit(3, "m", 1).topics[0].partitions[0].error_code, to_wire(ErrorCode::illegal_generation));
  EXPECT_EQ(commit(-1, "", 1, "").topics[0].partitions[0].error_code, to_wire(ErrorCode::invalid_group_id));
  EXPECT_TRUE(log_.records.empty());
  // Storage failure: not acknowledged, not applied.
  log_.fail = true;
  EXPECT_EQ(commit(-1, "", 9).topics[0].partitions[0].error_code, to_wire(ErrorCode::coordinator_not_available));
  log_.fail = false;
  EXPECT_EQ(fetched(gc_, "g", "t", 0), -1);
  // Oversized metadata.
  kafka::OffsetCommitRequest big;
  big.group_id = "g";
  big.generation_id = -1;
  big.topics = {{.name = "t", .partitions = {{0, 1, -1, -1, std::string(5000, 'm')}}}};
  EXPECT_EQ(gc_.offset_commit(big, 8, now_, 0).topics[0].partitions[0].error_code,
            to_wire(ErrorCode::offset_metadata_too_large));
  // Members of an active group must commit with their generation.
  Slot<kafka::JoinGroupResponse> ja;
  std::string a = stable_single(ja);
  EXPECT_EQ(commit(-1, "", 1).topics[0].partitions[0].error_code, to_wire(ErrorCode::unknown_member_id));
  EXPECT_EQ(commit(1, "ghost", 1).topics[0].partitions[0].error_code, to_wire(ErrorCode::unknown_member_id));
  EXPECT_EQ(commit(1, a, 11).topics[0].partitions[0].error_code, 0);
}

TEST_F(GroupTest, DescribeAndListGroups) {
  Slot<kafka::JoinGroupResponse> ja;
  std::string a = stable_single(ja);
  kafka::DescribeGroupsRequest req{{"g", "missing"}};
  auto d = gc_.describe_groups(req);
  ASSERT_EQ(d.groups.size(), 2u);
  EXPECT_EQ(d.groups[0].group_state, "Stable");
  EXPECT_EQ(d.groups[0].protocol_type, "consumer");
  EXPECT_EQ(d.groups[0].protocol_data, "range");
  ASSERT_EQ(d.groups[0].members.size(), 1u);
  EXPECT_EQ(d.groups[0].members[0].member_id, a);
  EXPECT_EQ(d.groups[0].members[0].member_assignment, bytes("all"));
  EXPECT_EQ(d.groups[1].error_code, 0);
  EXPECT_EQ(d.groups[1].group_state, "Dead");
  auto l = gc_.list_groups();
  ASSERT_EQ(l.groups.size(), 1u);
  EXPECT_EQ(l.groups[0].group_id, "g");
  EXPECT_EQ(l.groups[0].protocol_type, "consumer");
}

TEST_F(GroupTest, DuplicateJoinAnswersTheStaleRequest) {
  Slot<kafka::JoinGroupResponse> ja;
  std::string a = stable_single(ja);
  std::string b = new_member_id();
  Slot<kafka::JoinGroupResponse> first, second;
  join(b, first);
  join(b, second);  // retried JoinGroup while the rebalance waits for a
  ASSERT_EQ(first.calls, 1);
  EXPECT_EQ(first.value->error_code, to_wire(ErrorCode::rebalance_in_progress));
  EXPECT_EQ(second.calls, 0);
  Slot<kafka::JoinGroupResponse> ja2;
  join(a, ja2);
  EXPECT_EQ(second.calls, 1);
  EXPECT_EQ(first.calls, 1);  // never answered twice
}

}  // namespace
}  // namespace nocopy::broker
