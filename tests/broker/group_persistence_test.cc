// Group membership across a coordinator restart: group records written to
// the OffsetLog at each completed generation (and when the group empties)
// and replayed into a fresh GroupCoordinator.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "../groups/group_test_util.h"
#include "broker/group_coordinator.h"
#include "kafka/error_code.h"
#include "kafka/writer.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using std::chrono::milliseconds;
using TimePoint = GroupCoordinator::TimePoint;
using namespace testing;  // bytes, Slot, MemoryOffsetLog

GroupCoordinatorConfig config() {
  GroupCoordinatorConfig c;
  c.initial_rebalance_delay = milliseconds(0);
  c.member_id_seed = 7;  // the same in every "run": restored ids must not collide with new ones
  return c;
}

class GroupPersistenceTest : public ::testing::Test {
 protected:
  kafka::JoinGroupRequest join_req(const std::string& member_id, std::int32_t session_ms = 10000) {
    kafka::JoinGroupRequest r;
    r.group_id = "g";
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = 30000;
    r.member_id = member_id;
    r.protocol_type = "consumer";
    r.protocols = {{"range", bytes("sub-" + member_id.substr(0, 1))}};
    return r;
  }

  // Two members (a, b) through JoinGroup v5 + SyncGroup: generation 1, a leads.
  void form_group(GroupCoordinator& gc) {
    Slot<kafka::JoinGroupResponse> first;
    gc.join_group(join_req(""), 5, "a", "/10.0.0.1", now_, first.callback());
    a_ = first.value->member_id;
    gc.join_group(join_req(""), 5, "b", "/10.0.0.2", now_, first.callback());
    b_ = first.value->member_id;
    Slot<kafka::JoinGroupResponse> ja, jb;
    gc.join_group(join_req(a_), 5, "a", "/10.0.0.1", now_, ja.callback());
    gc.join_group(join_req(b_), 5, "b", "/10.0.0.2", now_, jb.callback());
    ASSERT_EQ(ja.calls, 1);
    ASSERT_EQ(jb.calls, 1);
    ASSERT_EQ(ja.value->error_code, 0);
    ASSERT_EQ(ja.value->leader, a_);
    generation_ = ja.value->generation_id;
    Slot<kafka::SyncGroupResponse> sb, sa;
    gc.sync_group(sync_req(b_, {}), now_, sb.callback());
    gc.sync_group(sync_req(a_, {{a_, bytes("parts-a")}, {b_, bytes("parts-b")}}), now_, sa.callback());
    ASSERT_EQ(sa.value->error_code, 0);
    ASSERT_EQ(sb.value->assignment, bytes("parts-b"));
    ASSERT_EQ(gc.state_name("g"), "Stable");
  }

  kafka::SyncGroupRequest sync_req(const std::string& member,
                                   std::vector<kafka::SyncGroupRequest::Assignment> assignments) {
    kafka::SyncGroupRequest r;
    r.group_id = "g";
    r.generation_id = generation_;
    r.member_id = member;
    r.assignments = std::move(assignments);
    return r;
  }

  std::int16_t heartbeat(GroupCoordinator& gc, const std::string& member, std::int32_t generation) {
    kafka::HeartbeatRequest r;
    r.group_id = "g";
    r.generation_id = generation;
    r.member_id = member;
    return gc.heartbeat(r, now_).error_code;
  }

  std::int16_t commit(GroupCoordinator& gc, const std::string& member, std::int32_t generation, std::int64_t off) {
    kafka::OffsetCommitRequest r;
    r.group_id = "g";
    r.generation_id = generation;
    r.member_id = member;
    r.topics.push_back({.name = "t", .partitions = {{0, off, -1, -1, std::nullopt}}});
    return gc.offset_commit(r, 8, now_, 1000).topics[0].partitions[0].error_code;
  }

  std::int64_t fetched(GroupCoordinator& gc) {
    kafka::OffsetFetchRequest r;
    r.group_id = "g";
    r.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "t", .partition_indexes = {0}}};
    return gc.offset_fetch(r).topics[0].partitions[0].committed_offset;
  }

  // A coordinator restarted from everything `log_` holds, at `now_`.
  std::unique_ptr<GroupCoordinator> restart(OffsetLog* log) {
    auto gc = std::make_unique<GroupCoordinator>(config(), log);
    for (const auto& [k, v] : log_.records) EXPECT_TRUE(gc->replay(k, v));
    gc->finish_replay(now_);
    return gc;
  }

  MemoryOffsetLog log_;
  TimePoint now_{std::chrono::seconds(1000)};
  std::string a_, b_;
  std::int32_t generation_ = 0;
};

TEST_F(GroupPersistenceTest, CompletedGenerationIsStoredAndRestoredStable) {
  GroupCoordinator gc(config(), &log_);
  form_group(gc);
  EXPECT_EQ(log_.group_records(), 1u);  // one per completed generation
  ASSERT_EQ(commit(gc, a_, generation_, 5), 0);

  now_ += milliseconds(60000);  // a long outage: sessions restart at load time
  auto restarted = restart(nullptr);
  EXPECT_EQ(restarted->state_name("g"), "Stable");
  EXPECT_EQ(restarted->generation("g"), generation_);
  EXPECT_EQ(heartbeat(*restarted, a_, generation_), 0);
  EXPECT_EQ(heartbeat(*restarted, b_, generation_), 0);
  EXPECT_EQ(heartbeat(*restarted, b_, generation_ + 1), to_wire(ErrorCode::illegal_generation));
  EXPECT_EQ(heartbeat(*restarted, "ghost", generation_), to_wire(ErrorCode::unknown_member_id));
  EXPECT_EQ(fetched(*restarted), 5);
  EXPECT_EQ(commit(*restarted, b_, generation_, 9), 0);
  EXPECT_EQ(fetched(*restarted), 9);

  // Members, leader's subscriptions and assignments are back.
  kafka::DescribeGroupsRequest d;
  d.groups = {"g"};
  auto desc = restarted->describe_groups(d).groups.at(0);
  EXPECT_EQ(desc.protocol_data, "range");
  ASSERT_EQ(desc.members.size(), 2u);
  EXPECT_EQ(desc.members[0].member_id, a_);
  EXPECT_EQ(desc.members[0].client_host, "/10.0.0.1");
  EXPECT_EQ(desc.members[0].member_assignment, bytes("parts-a"));
  EXPECT_EQ(desc.members[1].member_assignment, bytes("parts-b"));
  // A follower's SyncGroup retry in the restored generation gets its assignment.
  Slot<kafka::SyncGroupResponse> again;
  restarted->sync_group(sync_req(b_, {}), now_, again.callback());
  EXPECT_EQ(again.value->error_code, 0);
  EXPECT_EQ(again.value->assignment, bytes("parts-b"));

  // A newcomer after the restart gets an id distinct from the restored ones
  // (the id generator starts over with the same seed).
  Slot<kafka::JoinGroupResponse> fresh;
  restarted->join_group(join_req(""), 5, "a", "/10.0.0.3", now_, fresh.callback());
  EXPECT_EQ(fresh.value->error_code, to_wire(ErrorCode::member_id_required));
  EXPECT_NE(fresh.value->member_id, a_);
  EXPECT_NE(fresh.value->member_id, b_);
}

TEST_F(GroupPersistenceTest, MemberThatDoesNotComeBackExpiresAndTriggersRebalance) {
  GroupCoordinator gc(config(), &log_);
  form_group(gc);
  MemoryOffsetLog after;  // what the restarted coordinator writes
  auto restarted = restart(&after);
  // a keeps heartbeating, b never comes back.
  for (int i = 0; i < 3; ++i) {
    now_ += milliseconds(4000);
    restarted->tick(now_);
    EXPECT_EQ(heartbeat(*restarted, a_, generation_), i < 2 ? 0 : to_wire(ErrorCode::rebalance_in_progress));
  }
  EXPECT_EQ(restarted->state_name("g"), "PreparingRebalance");
  Slot<kafka::JoinGroupResponse> ja;
  restarted->join_group(join_req(a_), 5, "a", "/10.0.0.1", now_, ja.callback());
  ASSERT_EQ(ja.calls, 1);
  EXPECT_EQ(ja.value->error_code, 0);
  EXPECT_EQ(ja.value->generation_id, generation_ + 1);
  ASSERT_EQ(ja.value->members.size(), 1u);
  EXPECT_EQ(ja.value->members[0].member_id, a_);
  EXPECT_EQ(ja.value->members[0].metadata, bytes("sub-a"));
  generation_ = ja.value->generation_id;
  Slot<kafka::SyncGroupResponse> sa;
  restarted->sync_group(sync_req(a_, {{a_, bytes("all")}}), now_, sa.callback());
  EXPECT_EQ(sa.value->assignment, bytes("all"));
  EXPECT_EQ(after.group_records(), 1u);
}

TEST_F(GroupPersistenceTest, EmptyGroupIsStoredWithoutMembers) {
  GroupCoordinator gc(config(), &log_);
  form_group(gc);
  ASSERT_EQ(commit(gc, a_, generation_, 3), 0);
  kafka::LeaveGroupRequest leave;
  leave.group_id = "g";
  leave.members = {{a_, std::nullopt}, {b_, std::nullopt}};
  auto lr = gc.leave_group(leave, 3, now_);
  ASSERT_EQ(lr.members.at(1).error_code, 0);
  ASSERT_EQ(gc.state_name("g"), "Empty");
  EXPECT_EQ(log_.group_records(), 2u);

  auto restarted = restart(nullptr);
  EXPECT_EQ(restarted->state_name("g"), "Empty");
  EXPECT_EQ(restarted->generation("g"), generation_ + 1);
  EXPECT_EQ(heartbeat(*restarted, a_, generation_), to_wire(ErrorCode::unknown_member_id));
  kafka::DescribeGroupsRequest d;
  d.groups = {"g"};
  EXPECT_TRUE(restarted->describe_groups(d).groups.at(0).members.empty());
  EXPECT_EQ(fetched(*restarted), 3);
}

TEST_F(GroupPersistenceTest, StoreFailureDoesNotCompleteTheGeneration) {
  GroupCoordinator gc(config(), &log_);
  Slot<kafka::JoinGroupResponse> first, ja;
  gc.join_group(join_req(""), 5, "a", "/h", now_, first.callback());
  a_ = first.value->member_id;
  gc.join_group(join_req(a_), 5, "a", "/h", now_, ja.callback());
  generation_ = ja.value->generation_id;
  log_.fail = true;
  Slot<kafka::SyncGroupResponse> sa;
  gc.sync_group(sync_req(a_, {{a_, bytes("x")}}), now_, sa.callback());
  ASSERT_EQ(sa.calls, 1);
  EXPECT_EQ(sa.value->error_code, to_wire(ErrorCode::coordinator_not_available));
  EXPECT_EQ(gc.state_name("g"), "PreparingRebalance");
}

TEST_F(GroupPersistenceTest, CorruptAndUnknownRecordsAreSkipped) {
  GroupCoordinator gc(config(), &log_);
  form_group(gc);
  const auto key = GroupCoordinator::encode_group_key("g");
  const auto good = log_.records.back().second;
  ASSERT_TRUE(GroupCoordinator::decode_group_value(good).has_value());

  GroupCoordinator restarted(config(), nullptr);
  ASSERT_TRUE(restarted.replay(key, good));
  // Every truncation of a valid value is rejected and changes nothing.
  for (std::size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_FALSE(restarted.replay(key, std::span(good).first(cut))) << cut;
  }
  auto trailing = good;
  trailing.push_back(std::byte{0});
  EXPECT_FALSE(restarted.replay(key, trailing));
  // Inconsistent: the leader is not a member.
  auto rec = *GroupCoordinator::decode_group_value(good);
  rec.leader = "nobody";
  EXPECT_FALSE(restarted.replay(key, GroupCoordinator::encode_group_value(rec)));
  rec = *GroupCoordinator::decode_group_value(good);
  rec.members.push_back(rec.members.front());  // duplicate id
  EXPECT_FALSE(restarted.replay(key, GroupCoordinator::encode_group_value(rec)));
  // A newer value version is skipped, not an error.
  auto future = good;
  future[1] = std::byte{9};
  EXPECT_TRUE(restarted.replay(key, future));
  // Garbage key.
  EXPECT_FALSE(restarted.replay(std::vector<std::byte>{std::byte{0}, std::byte{2}, std::byte{0x7f}}, good));
  restarted.finish_replay(now_);
  EXPECT_EQ(restarted.generation("g"), generation_);
  EXPECT_EQ(heartbeat(restarted, a_, generation_), 0);

  // A tombstone forgets the members.
  ASSERT_TRUE(restarted.replay(key, {}));
  EXPECT_EQ(heartbeat(restarted, a_, generation_), to_wire(ErrorCode::unknown_member_id));
}

TEST_F(GroupPersistenceTest, MutatedRecordsNeverBreakTheCoordinator) {
  GroupCoordinator gc(config(), &log_);
  form_group(gc);
  const auto key = GroupCoordinator::encode_group_key("g");
  const auto good = log_.records.back().second;
  // Every byte of a valid record set to a few interesting values: replay
  // either accepts a self-consistent group or rejects it, and a restored
  // group always answers heartbeats.
  const std::byte values[] = {std::byte{0x00}, std::byte{0x01}, std::byte{0x7f}, std::byte{0x80}, std::byte{0xff}};
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (std::byte b : values) {
      auto v = good;
      if (v[i] == b) continue;
      v[i] = b;
      GroupCoordinator restarted(config(), nullptr);
      if (!restarted.replay(key, v)) continue;
      ++accepted;
      restarted.finish_replay(now_);
      (void)heartbeat(restarted, a_, generation_);
      now_ += milliseconds(1);
      restarted.tick(now_ + milliseconds(60000));
    }
  }
  EXPECT_GT(accepted, 0u);  // e.g. changed assignment bytes still decode
}

TEST_F(GroupPersistenceTest, KafkaValueVersionZeroDecodes) {
  // v0 (no rebalance timeout, state timestamp or instance id): rebalance
  // timeout defaults to the session timeout.
  kafka::Writer w;
  w.i16(0);
  w.string("consumer");
  w.i32(4);
  w.nullable_string("range");
  w.nullable_string("m1");
  w.array_length(1);
  w.string("m1");
  w.string("cid");
  w.string("/h");
  w.i32(12000);
  w.bytes(bytes("sub"));
  w.bytes(bytes("asg"));
  auto v = GroupCoordinator::decode_group_value(w.take_buffer());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->generation, 4);
  ASSERT_EQ(v->members.size(), 1u);
  EXPECT_EQ(v->members[0].rebalance_timeout_ms, 12000);
  EXPECT_EQ(v->members[0].assignment, bytes("asg"));
}

TEST_F(GroupPersistenceTest, KafkaOffsetValueVersionsDecode) {
  // v1 (with the expiry time Kafka wrote until 2.1).
  kafka::Writer w1;
  w1.i16(1);
  w1.i64(42);
  w1.string("meta");
  w1.i64(1000);
  w1.i64(2000);
  auto v1 = GroupCoordinator::decode_offset_value(w1.take_buffer());
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(v1->offset, 42);
  EXPECT_EQ(v1->leader_epoch, -1);
  EXPECT_EQ(v1->metadata, "meta");
  EXPECT_EQ(v1->commit_timestamp_ms, 1000);
  // v4, flexible, byte for byte: version 00 04, offset 7, leader epoch 3,
  // compact string "m" (length + 1 = 02, 0x6d), commit time 5, no tagged fields.
  const std::vector<std::byte> v4_bytes = [] {
    std::vector<std::byte> b;
    for (int x : {0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0x02, 0x6d, 0, 0, 0, 0, 0, 0, 0, 5, 0x00})
      b.push_back(static_cast<std::byte>(x));
    return b;
  }();
  auto v4 = GroupCoordinator::decode_offset_value(v4_bytes);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->offset, 7);
  EXPECT_EQ(v4->leader_epoch, 3);
  EXPECT_EQ(v4->metadata, "m");
  EXPECT_EQ(v4->commit_timestamp_ms, 5);
  // What the broker writes: v3, byte for byte.
  auto mine = GroupCoordinator::encode_offset_value({7, 3, "m", 5});
  const std::vector<std::byte> v3_bytes = [] {
    std::vector<std::byte> b;
    for (int x : {0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0x00, 0x01, 0x6d, 0, 0, 0, 0, 0, 0, 0, 5})
      b.push_back(static_cast<std::byte>(x));
    return b;
  }();
  EXPECT_EQ(mine, v3_bytes);
  // A version no schema has is refused.
  auto v5 = v4_bytes;
  v5[1] = std::byte{5};
  EXPECT_FALSE(GroupCoordinator::decode_offset_value(v5).has_value());
}

}  // namespace
}  // namespace nocopy::broker
