// Transactional offsets at the group coordinator (single node): kept
// pending in __consumer_offsets as a transactional batch of the producer,
// invisible to OffsetFetch (UNSTABLE_OFFSET_COMMIT with require_stable),
// applied by a COMMIT marker and dropped by an ABORT one; after a restart
// the replay keeps offsets without a marker pending and applies or drops
// those whose marker is in the log.
//
// Zombie fencing (KIP-447, GroupTxnFencingTest): a TxnOffsetCommit v3+
// names the sender's generation, member id and instance id, and only a
// current member of the group's generation stores offsets. A refused commit
// is answered per partition and appends nothing, so the producer's
// transaction stays usable (pending offsets and the partition's LSO
// untouched).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker_test_util.h"
#include "group_join_util.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;

constexpr std::int16_t kUnstableOffsetCommit = 88;

class GroupTxnOffsetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.data_dir = dir.path();
    cfg.group_initial_rebalance_delay_ms = 0;
    node = std::make_unique<testing::Node>(cfg);
  }
  std::int16_t version = 4;  // of the TxnOffsetCommit requests sent
  void restart() {
    node.reset();
    node = std::make_unique<testing::Node>(cfg);
  }
  kafka::TxnOffsetCommitResponse txn_offset_commit(const kafka::TxnOffsetCommitRequest& r) {
    std::promise<kafka::TxnOffsetCommitResponse> p;
    node->groups->txn_offset_commit(r, version, [&p](const kafka::TxnOffsetCommitResponse& res) { p.set_value(res); });
    return p.get_future().get();
  }
  std::int16_t txn_commit(std::int64_t pid, std::int16_t epoch, std::int64_t offset) {
    kafka::TxnOffsetCommitRequest r;
    r.transactional_id = "t";
    r.group_id = "g";
    r.producer_id = pid;
    r.producer_epoch = epoch;
    r.topics.emplace_back().name = "orders";
    r.topics[0].partitions.push_back({0, offset, -1, std::string("m")});
    return txn_offset_commit(r).topics.at(0).partitions.at(0).error_code;
  }
  // OffsetFetch v7 of orders-0: (partition error, committed offset).
  std::pair<std::int16_t, std::int64_t> fetched(bool require_stable) {
    kafka::OffsetFetchRequest r;
    r.group_id = "g";
    r.require_stable = require_stable;
    r.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "orders", .partition_indexes = {0}}};
    auto res = node->call<kafka::OffsetFetchResponse>(7, r);
    const auto& p = res.topics.at(0).partitions.at(0);
    return {p.error_code, p.committed_offset};
  }
  std::int64_t log_end() { return node->topics.find(kOffsetsTopic, 0)->log_end_offset(); }
  void marker_in_log(std::int64_t pid, std::int16_t epoch, bool commit) {
    ASSERT_EQ(node->topics.find(kOffsetsTopic, 0)->append_marker(pid, epoch, commit, 0), 0);
  }

  testing::TempDir dir;
  Config cfg;
  std::unique_ptr<testing::Node> node;
};

TEST_F(GroupTxnOffsetsTest, PendingUntilTheMarker) {
  ASSERT_EQ(txn_commit(1000, 0, 5), 0);
  ASSERT_EQ(txn_commit(1000, 0, 6), 0);  // same size, no sequence: appended again, not a "retry"
  EXPECT_EQ(log_end(), 2);
  EXPECT_EQ(node->topics.find(kOffsetsTopic, 0)->last_stable_offset(), 0);
  EXPECT_EQ(fetched(false), std::make_pair(std::int16_t{0}, std::int64_t{-1}));
  EXPECT_EQ(fetched(true), std::make_pair(kUnstableOffsetCommit, std::int64_t{-1}));
  marker_in_log(1000, 0, true);
  node->groups->complete_txn(0, 1000, true);
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{6}));
  // Aborted: dropped, the committed offset stays.
  ASSERT_EQ(txn_commit(1000, 0, 9), 0);
  EXPECT_EQ(fetched(false), std::make_pair(std::int16_t{0}, std::int64_t{6}));
  marker_in_log(1000, 0, false);
  node->groups->complete_txn(0, 1000, false);
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{6}));
  // A fenced epoch (a marker of a newer one is in the partition) is refused.
  marker_in_log(1000, 1, false);
  EXPECT_EQ(txn_commit(1000, 0, 11), kafka::to_wire(kafka::ErrorCode::coordinator_not_available));
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{6}));
}

TEST_F(GroupTxnOffsetsTest, ReplayKeepsPendingWithoutAMarker) {
  ASSERT_EQ(txn_commit(1000, 0, 5), 0);
  marker_in_log(1000, 0, true);  // committed, then the broker stops before applying it
  ASSERT_EQ(txn_commit(2000, 0, 7), 0);
  marker_in_log(2000, 0, false);
  ASSERT_EQ(txn_commit(3000, 0, 8), 0);  // still open at the restart
  restart();
  EXPECT_EQ(fetched(false), std::make_pair(std::int16_t{0}, std::int64_t{5}));
  EXPECT_EQ(fetched(true), std::make_pair(kUnstableOffsetCommit, std::int64_t{-1}));
  marker_in_log(3000, 0, true);
  node->groups->complete_txn(0, 3000, true);
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{8}));
  restart();
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{8}));
}

class GroupTxnFencingTest : public GroupTxnOffsetsTest {
 protected:
  std::future<Reply> join_async(const std::string& member) { return testing::join_async(*node, "g", member); }
  std::string member_id() { return testing::new_member_id(*node, "g"); }
  void sync(const std::string& member, std::int32_t generation,
            std::vector<kafka::SyncGroupRequest::Assignment> assignments = {}) {
    testing::sync(*node, "g", member, generation, std::move(assignments));
  }
  std::pair<std::string, std::int32_t> stable_single(const std::optional<std::string>& instance = {}) {
    return testing::stable_single(*node, "g", instance);
  }

  // TxnOffsetCommit of orders-0 and orders-1, payments-0 for group `group`:
  // every partition's error code.
  std::vector<std::int16_t> commit_as(std::int64_t pid, std::int32_t generation, const std::string& member,
                                      std::optional<std::string> instance = {}, std::int64_t offset = 5,
                                      const std::string& group = "g") {
    kafka::TxnOffsetCommitRequest r;
    r.transactional_id = "t";
    r.group_id = group;
    r.producer_id = pid;
    r.producer_epoch = 0;
    r.generation_id = generation;
    r.member_id = member;
    r.group_instance_id = std::move(instance);
    r.topics.push_back({.name = "orders", .partitions = {{0, offset, -1, std::nullopt}, {1, offset, -1, "m"}}});
    r.topics.push_back({.name = "payments", .partitions = {{0, offset, -1, std::nullopt}}});
    std::vector<std::int16_t> errors;
    for (const auto& t : txn_offset_commit(r).topics)
      for (const auto& part : t.partitions) errors.push_back(part.error_code);
    return errors;
  }
  static std::vector<std::int16_t> all(ErrorCode e) { return std::vector<std::int16_t>(3, to_wire(e)); }
  void commit_marker(std::int64_t pid) {
    marker_in_log(pid, 0, true);
    node->groups->complete_txn(0, pid, true);
  }
};

TEST_F(GroupTxnFencingTest, ProducersWithoutAGenerationCommitToAnyGroup) {
  // sendOffsetsToTransaction(offsets, groupId), and v0-v2 requests: no
  // generation, no member -- accepted, for a group that does not exist yet
  // (created as a simple group) as for one with members.
  EXPECT_EQ(commit_as(1000, -1, "", {}, 5, "solo"), all(ErrorCode::none));
  EXPECT_EQ(commit_as(1000, -1, ""), all(ErrorCode::none));
  auto [a, gen] = stable_single();
  EXPECT_EQ(commit_as(1000, -1, ""), all(ErrorCode::none));
  // A member id or an instance id without a generation is checked.
  EXPECT_EQ(commit_as(1000, -1, "ghost"), all(ErrorCode::unknown_member_id));
  EXPECT_EQ(commit_as(1000, -1, a), all(ErrorCode::illegal_generation));
  EXPECT_EQ(commit_as(1000, gen, a), all(ErrorCode::none));
}

TEST_F(GroupTxnFencingTest, AGenerationOfAGroupThatDoesNotExistIsIllegal) {
  EXPECT_EQ(commit_as(1000, 3, "m", {}, 5, "missing"), all(ErrorCode::illegal_generation));
  EXPECT_EQ(commit_as(1000, 0, "", {}, 5, "missing"), all(ErrorCode::illegal_generation));
  EXPECT_EQ(commit_as(1000, -1, "", {}, 5, ""), all(ErrorCode::invalid_group_id));
  // Nothing stored: no batch in __consumer_offsets.
  EXPECT_EQ(log_end(), 0);
}

TEST_F(GroupTxnFencingTest, FromVersionSixAGroupThatDoesNotExistIsNotFound) {
  version = 6;
  EXPECT_EQ(commit_as(1000, 3, "m", {}, 5, "missing"), all(ErrorCode::group_id_not_found));
  EXPECT_EQ(commit_as(1000, 0, "", {}, 5, "missing"), all(ErrorCode::group_id_not_found));
  EXPECT_EQ(log_end(), 0);
  // Without a generation the group is still created, as before.
  EXPECT_EQ(commit_as(1000, -1, "", {}, 5, "missing"), all(ErrorCode::none));
}

TEST_F(GroupTxnFencingTest, UnknownMembersAndStaleGenerationsStoreNothing) {
  auto [a, gen] = stable_single();
  const std::int64_t end = log_end();
  EXPECT_EQ(commit_as(1000, gen, "ghost"), all(ErrorCode::unknown_member_id));
  EXPECT_EQ(commit_as(1000, gen + 1, a), all(ErrorCode::illegal_generation));
  EXPECT_EQ(commit_as(1000, gen - 1, a), all(ErrorCode::illegal_generation));
  EXPECT_EQ(log_end(), end);
  EXPECT_EQ(node->topics.find(kOffsetsTopic, 0)->last_stable_offset(), end);
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{-1}));  // nothing pending
  // The refused producer's transaction is usable: a valid commit of it
  // is stored and applied by its marker.
  EXPECT_EQ(commit_as(1000, gen, a, {}, 7), all(ErrorCode::none));
  EXPECT_EQ(fetched(true).first, kUnstableOffsetCommit);
  commit_marker(1000);
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{7}));
}

TEST_F(GroupTxnFencingTest, StaticMembersAreFencedByInstanceId) {
  auto [a, gen] = stable_single(std::string("instance-1"));
  EXPECT_EQ(commit_as(1000, gen, a, std::string("instance-1")), all(ErrorCode::none));
  // The instance is held by another member id: FENCED_INSTANCE_ID, before
  // the generation is looked at.
  EXPECT_EQ(commit_as(1000, gen, "old-incarnation", std::string("instance-1")), all(ErrorCode::fenced_instance_id));
  EXPECT_EQ(commit_as(1000, gen + 5, "old-incarnation", std::string("instance-1")),
            all(ErrorCode::fenced_instance_id));
  // An instance id nobody holds: UNKNOWN_MEMBER_ID.
  EXPECT_EQ(commit_as(1000, gen, a, std::string("instance-2")), all(ErrorCode::unknown_member_id));
  // OffsetCommit v7+ checks the instance the same way.
  kafka::OffsetCommitRequest c;
  c.group_id = "g";
  c.generation_id = gen;
  c.member_id = "old-incarnation";
  c.group_instance_id = "instance-1";
  c.topics = {{.name = "orders", .partitions = {{0, 3, -1, -1, std::nullopt}}}};
  EXPECT_EQ(node->call<kafka::OffsetCommitResponse>(7, c).topics.at(0).partitions.at(0).error_code,
            to_wire(ErrorCode::fenced_instance_id));
  c.member_id = a;
  EXPECT_EQ(node->call<kafka::OffsetCommitResponse>(7, c).topics.at(0).partitions.at(0).error_code, 0);
}

TEST_F(GroupTxnFencingTest, ARejoinedMemberCommitsItsOldGenerationCannot) {
  auto [a, gen1] = stable_single();
  EXPECT_EQ(commit_as(1000, gen1, a), all(ErrorCode::none));
  // b joins: the group is PreparingRebalance, a has not rejoined yet and
  // still commits with its generation (Kafka allows transactional commits
  // during a rebalance; the heartbeat tells the member to rejoin).
  const std::string b = member_id();
  auto jb = join_async(b);
  EXPECT_EQ(commit_as(1000, gen1, a), all(ErrorCode::none));
  // a rejoins: generation 2, CompletingRebalance until the leader's sync.
  auto ja = join_async(a);
  const auto ra = testing::joined(ja);
  const auto rb = testing::joined(jb);
  ASSERT_EQ(ra.error_code, 0);
  ASSERT_EQ(rb.error_code, 0);
  const std::int32_t gen2 = ra.generation_id;
  ASSERT_EQ(gen2, gen1 + 1);
  // A zombie holding generation 1 is fenced; the members of generation 2
  // commit, also before the generation's SyncGroup.
  const std::int64_t end = log_end();
  EXPECT_EQ(commit_as(2000, gen1, a), all(ErrorCode::illegal_generation));
  EXPECT_EQ(commit_as(2000, gen1, b), all(ErrorCode::illegal_generation));
  EXPECT_EQ(log_end(), end);
  EXPECT_EQ(commit_as(2000, gen2, b, {}, 9), all(ErrorCode::none));
  sync(ra.leader, gen2, {{a, kafka::ByteVec{std::byte{1}}}, {b, kafka::ByteVec{std::byte{2}}}});
  sync(ra.leader == a ? b : a, gen2);
  EXPECT_EQ(commit_as(3000, gen2, a, {}, 11), all(ErrorCode::none));
  EXPECT_EQ(commit_as(3000, gen1, a), all(ErrorCode::illegal_generation));
  // The accepted commits become the group's with their markers.
  commit_marker(2000);
  EXPECT_EQ(fetched(true).first, kUnstableOffsetCommit);  // 1000 and 3000 still pending
  commit_marker(1000);
  commit_marker(3000);
  EXPECT_EQ(fetched(true), std::make_pair(std::int16_t{0}, std::int64_t{11}));
}

}  // namespace
}  // namespace nocopy::broker
