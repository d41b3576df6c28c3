// Members for the group tests that run a whole Node: a member joins
// through the request handler with JoinGroup v5 (MEMBER_ID_REQUIRED, then
// the join with the handed-out id) and SyncGroup v3.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "test_node.h"

namespace nocopy::broker::testing {

inline kafka::JoinGroupRequest join_request(const std::string& group, const std::string& member,
                                            const std::optional<std::string>& instance) {
  kafka::JoinGroupRequest r;
  r.group_id = group;
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 30000;
  r.member_id = member;
  r.group_instance_id = instance;
  r.protocol_type = "consumer";
  r.protocols = {{"range", kafka::ByteVec{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}}}};
  return r;
}

// JoinGroup v5 sent without waiting for the answer (it waits for the rebalance).
inline std::future<Reply> join_async(Node& n, const std::string& group, const std::string& member,
                                     const std::optional<std::string>& instance = {}) {
  return n.post(5, join_request(group, member, instance));
}

inline kafka::JoinGroupResponse joined(std::future<Reply>& f) {
  EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  return Node::decode<kafka::JoinGroupResponse>(5, f.get());
}

// A new member's id (JoinGroup v5 answers MEMBER_ID_REQUIRED with it).
inline std::string new_member_id(Node& n, const std::string& group, const std::optional<std::string>& instance = {}) {
  auto f = join_async(n, group, "", instance);
  auto r = joined(f);
  EXPECT_EQ(r.error_code, kafka::to_wire(kafka::ErrorCode::member_id_required));
  return r.member_id;
}

inline void sync(Node& n, const std::string& group, const std::string& member, std::int32_t generation,
                 std::vector<kafka::SyncGroupRequest::Assignment> assignments = {}) {
  kafka::SyncGroupRequest r;
  r.group_id = group;
  r.generation_id = generation;
  r.member_id = member;
  r.assignments = std::move(assignments);
  EXPECT_EQ(n.call<kafka::SyncGroupResponse>(3, r).error_code, 0);
}

// One member joined and synced, alone in the group: (member id, generation).
inline std::pair<std::string, std::int32_t> stable_single(Node& n, const std::string& group,
                                                          const std::optional<std::string>& instance = {}) {
  const std::string id = new_member_id(n, group, instance);
  auto f = join_async(n, group, id, instance);
  auto j = joined(f);
  EXPECT_EQ(j.error_code, 0);
  sync(n, group, id, j.generation_id, {{id, kafka::ByteVec{std::byte{1}}}});
  return {id, j.generation_id};
}

}  // namespace nocopy::broker::testing
