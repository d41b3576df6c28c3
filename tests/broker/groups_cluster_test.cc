// Consumer groups in cluster mode, below the network: Kafka's mapping of a
// group id to a __consumer_offsets partition, and GroupsService serving
// only the partitions this broker leads -- loading a partition's groups
// from its log when it becomes leader (COORDINATOR_LOAD_IN_PROGRESS
// meanwhile), unloading them when it stops leading (NOT_COORDINATOR),
// refusing writes below min.insync.replicas and answering a commit only
// once the ISR holds it; transactional offsets across a load, and the
// fencing of a stale member's transactional offsets there. The replication layer is a real ReplicaManager
// without fetchers; followers' progress is reported by hand.
#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "broker_test_util.h"
#include "group_join_util.h"
#include "broker/coordinator_partition.h"
#include "log/control_batch.h"
#include "log/record_batch.h"
#include "replicas_fixture.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::NoSink;

TEST(CoordinatorPartition, JavaStringHashCode) {
  // Values of java.lang.String#hashCode (as OpenJDK prints them).
  EXPECT_EQ(java_string_hash(""), 0);
  EXPECT_EQ(java_string_hash("a"), 97);
  EXPECT_EQ(java_string_hash("hello"), 99162322);
  EXPECT_EQ(java_string_hash("Hello, World!"), 1498789909);
  EXPECT_EQ(java_string_hash("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(java_string_hash("my-consumer-group"), 1513705513);
  // UTF-16 code units: U+00E9 is one unit (233), U+1F600 two (D83D DE00).
  EXPECT_EQ(java_string_hash("\xC3\xA9"), 233);
  EXPECT_EQ(java_string_hash("\xF0\x9F\x98\x80"), 0xD83D * 31 + 0xDE00);
  // An invalid byte counts as U+FFFD, as Java's decoder replaces it.
  EXPECT_EQ(java_string_hash("\xFF"), 0xFFFD);
}

TEST(CoordinatorPartition, KafkaAbsModulo) {
  // Utils.abs(Integer.MIN_VALUE) is 0, not MIN_VALUE; the others as OpenJDK computes them.
  EXPECT_EQ(coordinator_partition("polygenelubricants", 50), 0);
  EXPECT_EQ(coordinator_partition("hello", 50), 22);
  EXPECT_EQ(coordinator_partition("my-consumer-group", 50), 13);
  EXPECT_EQ(coordinator_partition("anything", 1), 0);
  for (const char* g : {"a", "group-1", "g\xC3\xA9", "x"}) {
    const auto p = coordinator_partition(g, 16);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 16);
  }
  EXPECT_THROW(coordinator_partition("g", 0), std::invalid_argument);
}

constexpr std::int32_t kParts = 4;

Config cluster_config(const std::filesystem::path& dir, std::int32_t min_isr = 1) {
  Config c;
  c.data_dir = dir;
  c.cluster = "etcd://127.0.0.1:1";  // cluster mode; no node is started here
  c.node_id = 1;
  c.min_insync_replicas = min_isr;
  c.group_initial_rebalance_delay_ms = 0;
  return c;
}

class GroupsClusterTest : public ::testing::Test {
 protected:
  void start(std::int32_t min_isr = 1) {
    cfg = cluster_config(dir.path(), min_isr);
    node = std::make_unique<testing::Node>(cfg);
    std::string msg;
    ASSERT_EQ(node->topics.create(kOffsetsTopic, kParts, {{"cleanup.policy", "compact"}}, false, &msg), 0) << msg;
    replicas = testing::replicas_over(*node, sink);
    GroupsService::ClusterHooks h;
    h.replicas = replicas.get();
    h.offsets_partitions = [] { return kParts; };
    node->groups->set_cluster(std::move(h));
  }
  void TearDown() override {
    if (node) node->groups->stop();
    node.reset();  // before the replica manager it points to
    replicas.reset();
  }
  // The cluster says: partition `p` led by `leader` in `epoch` with `isr`.
  void lead(std::int32_t p, std::int32_t leader, std::int32_t epoch, std::vector<std::int32_t> isr = {1}) {
    replication::PartitionState s{leader, epoch, epoch, {1, 2, 3}, std::move(isr)};
    replicas->apply(kOffsetsTopic, p, s);
    node->groups->leadership(p, leader == 1, epoch);
  }
  void wait_loaded(std::int32_t p) {
    for (int i = 0; i < 500 && node->groups->shard_state(p) != GroupsService::ShardState::loaded; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(node->groups->shard_state(p), GroupsService::ShardState::loaded);
  }
  static kafka::OffsetCommitRequest commit(const std::string& group, std::int64_t offset) {
    kafka::OffsetCommitRequest r;
    r.group_id = group;
    r.generation_id = -1;
    r.member_id = "";
    kafka::OffsetCommitRequest::Topic t;
    t.name = "orders";
    kafka::OffsetCommitRequest::Partition p;
    p.partition_index = 0;
    p.committed_offset = offset;
    t.partitions.push_back(p);
    r.topics.push_back(t);
    return r;
  }
  std::int16_t commit_error(const std::string& group, std::int64_t offset) {
    auto r = node->call<kafka::OffsetCommitResponse>(8, commit(group, offset));
    return r.topics.at(0).partitions.at(0).error_code;
  }
  // OffsetFetch v7: (top-level error, committed offset of orders-0).
  std::pair<std::int16_t, std::int64_t> fetched(const std::string& group) {
    kafka::OffsetFetchRequest r;
    r.group_id = group;
    r.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "orders", .partition_indexes = {0}}};
    auto res = node->call<kafka::OffsetFetchResponse>(7, r);
    const std::int64_t off = res.topics.empty() ? -2 : res.topics.at(0).partitions.at(0).committed_offset;
    return {res.error_code, off};
  }
  // TxnOffsetCommit v3 of orders-0 by producer 1000 as `member` of
  // `generation`: its error, once answered (after the ISR has the batch).
  std::int16_t txn_commit_error(const std::string& group, std::int32_t generation, const std::string& member,
                                std::int64_t offset) {
    kafka::TxnOffsetCommitRequest r;
    r.transactional_id = "t";
    r.group_id = group;
    r.producer_id = 1000;
    r.producer_epoch = 0;
    r.generation_id = generation;
    r.member_id = member;
    r.topics.push_back({.name = "orders", .partitions = {{0, offset, -1, std::nullopt}}});
    auto p = std::make_shared<std::promise<kafka::TxnOffsetCommitResponse>>();
    node->groups->txn_offset_commit(r, 4, [p](const kafka::TxnOffsetCommitResponse& res) { p->set_value(res); });
    auto f = p->get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    return f.get().topics.at(0).partitions.at(0).error_code;
  }
  // A group id whose partition is `p`.
  static std::string group_in(std::int32_t p) {
    for (int i = 0;; ++i) {
      std::string g = "group-" + std::to_string(i);
      if (coordinator_partition(g, kParts) == p) return g;
    }
  }

  testing::TempDir dir;
  Config cfg;
  NoSink sink;
  std::unique_ptr<replication::ReplicaManager> replicas;
  std::unique_ptr<testing::Node> node;
};

TEST_F(GroupsClusterTest, ServesOnlyLedPartitionsAndReloadsFromTheLog) {
  start();
  const std::string g = group_in(2);
  const std::string other = group_in(3);
  EXPECT_EQ(commit_error(g, 5), to_wire(ErrorCode::not_coordinator));
  lead(2, 1, 1);
  wait_loaded(2);
  EXPECT_EQ(commit_error(g, 5), 0);
  EXPECT_EQ(commit_error(g, 7), 0);
  EXPECT_EQ(fetched(g), std::make_pair(std::int16_t{0}, std::int64_t{7}));
  // Partition 3 is led elsewhere.
  lead(3, 2, 1);
  EXPECT_EQ(commit_error(other, 1), to_wire(ErrorCode::not_coordinator));
  EXPECT_EQ(fetched(other).first, to_wire(ErrorCode::not_coordinator));
  // The commits are records of partition 2 only, stamped with its epoch.
  EXPECT_EQ(node->topics.find(kOffsetsTopic, 2)->log_end_offset(), 2);
  EXPECT_EQ(node->topics.find(kOffsetsTopic, 3)->log_end_offset(), 0);

  // Leadership moves away: the group is unloaded and refused here.
  lead(2, 2, 2);
  EXPECT_EQ(node->groups->shard_state(2), GroupsService::ShardState::absent);
  EXPECT_EQ(fetched(g).first, to_wire(ErrorCode::not_coordinator));
  // And back: the group comes back from the log with its committed offset.
  lead(2, 1, 3);
  wait_loaded(2);
  EXPECT_EQ(node->groups->group_count(2), 1u);
  EXPECT_EQ(fetched(g), std::make_pair(std::int16_t{0}, std::int64_t{7}));
}

TEST_F(GroupsClusterTest, LoadInProgressUntilTheReplicationLayerLeads) {
  start();
  const std::string g = group_in(1);
  // The cluster's leadership arrives here before the replication layer
  // made this broker the leader: the shard waits, answering LOAD_IN_PROGRESS.
  replication::PartitionState follower{2, 1, 1, {1, 2, 3}, {1, 2}};
  replicas->apply(kOffsetsTopic, 1, follower);
  node->groups->leadership(1, true, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(node->groups->shard_state(1), GroupsService::ShardState::loading);
  EXPECT_EQ(commit_error(g, 3), to_wire(ErrorCode::coordinator_load_in_progress));
  EXPECT_EQ(fetched(g).first, to_wire(ErrorCode::coordinator_load_in_progress));
  replicas->apply(kOffsetsTopic, 1, replication::PartitionState{1, 2, 2, {1, 2, 3}, {1}});
  wait_loaded(1);
  EXPECT_EQ(commit_error(g, 3), 0);
}

// Transactional offsets in the log when a broker becomes the leader: those
// without a marker stay pending (UNSTABLE_OFFSET_COMMIT with require_stable);
// a marker that reaches the broker while it loads the partition (the replay
// may have read the log before it) is applied once the load ends.
TEST_F(GroupsClusterTest, LoadKeepsPendingOffsetsAndAppliesMarkersThatArriveMeanwhile) {
  start();
  const std::string g = group_in(1);
  auto part = node->topics.find(kOffsetsTopic, 1);
  for (std::int64_t pid : {1000, 2000}) {
    const auto k = GroupCoordinator::encode_offset_key({g, "orders", 0});
    const auto v = GroupCoordinator::encode_offset_value({pid / 100, -1, "", 1});
    auto batch = log::BatchBuilder()
                     .timestamp(1)
                     .producer(pid, 0, -1)
                     .attributes(log::kAttrTransactional)
                     .add(std::string(reinterpret_cast<const char*>(k.data()), k.size()),
                          std::string(reinterpret_cast<const char*>(v.data()), v.size()))
                     .build();
    ASSERT_EQ(part->append(batch).error, 0);
  }
  // Loading: the replication layer has not made this broker the leader yet.
  replicas->apply(kOffsetsTopic, 1, replication::PartitionState{2, 1, 1, {1, 2, 3}, {1, 2}});
  node->groups->leadership(1, true, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(node->groups->shard_state(1), GroupsService::ShardState::loading);
  node->groups->complete_txn(1, 1000, true);  // producer 1000's COMMIT marker
  replicas->apply(kOffsetsTopic, 1, replication::PartitionState{1, 2, 2, {1, 2, 3}, {1}});
  wait_loaded(1);
  EXPECT_EQ(fetched(g), std::make_pair(std::int16_t{0}, std::int64_t{10}));
  kafka::OffsetFetchRequest stable;
  stable.group_id = g;
  stable.require_stable = true;
  stable.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "orders", .partition_indexes = {0}}};
  auto res = node->call<kafka::OffsetFetchResponse>(7, stable);
  EXPECT_EQ(res.topics.at(0).partitions.at(0).error_code, 88);  // producer 2000's offset is pending
  node->groups->complete_txn(1, 2000, false);
  res = node->call<kafka::OffsetFetchResponse>(7, stable);
  EXPECT_EQ(res.topics.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(res.topics.at(0).partitions.at(0).committed_offset, 10);
}

// Zombie fencing in the group's shard: a transactional commit of an
// unknown member or a stale generation is refused with nothing appended,
// also after the leadership moved away and back (the group's membership
// reloaded from its record).
TEST_F(GroupsClusterTest, StaleMembersTransactionalOffsetsAreRefusedAcrossALoad) {
  start();
  const std::string g = group_in(2);
  lead(2, 1, 1);
  wait_loaded(2);
  const auto [a, gen] = testing::stable_single(*node, g);
  auto part = node->topics.find(kOffsetsTopic, 2);
  const std::int64_t end = part->log_end_offset();
  EXPECT_EQ(txn_commit_error(g, gen + 1, a, 5), to_wire(ErrorCode::illegal_generation));
  EXPECT_EQ(txn_commit_error(g, gen, "ghost", 5), to_wire(ErrorCode::unknown_member_id));
  EXPECT_EQ(part->log_end_offset(), end);
  EXPECT_EQ(txn_commit_error(g, gen, a, 5), 0);
  EXPECT_EQ(part->log_end_offset(), end + 1);
  lead(2, 2, 2);
  lead(2, 1, 3);
  wait_loaded(2);
  EXPECT_EQ(txn_commit_error(g, gen - 1, a, 6), to_wire(ErrorCode::illegal_generation));
  EXPECT_EQ(txn_commit_error(g, gen, "ghost", 6), to_wire(ErrorCode::unknown_member_id));
  EXPECT_EQ(txn_commit_error(g, gen, a, 6), 0);
}

TEST_F(GroupsClusterTest, BelowMinInsyncReplicasCommitsAreRefused) {
  start(/*min_isr=*/2);
  const std::string g = group_in(0);
  lead(0, 1, 1, {1});
  wait_loaded(0);
  EXPECT_EQ(commit_error(g, 9), to_wire(ErrorCode::coordinator_not_available));
  EXPECT_EQ(node->topics.find(kOffsetsTopic, 0)->log_end_offset(), 0);
  EXPECT_EQ(fetched(g).second, -1);
}

TEST_F(GroupsClusterTest, CommitAnsweredOnlyOnceTheIsrHoldsIt) {
  start();
  const std::string g = group_in(0);
  lead(0, 1, 1, {1, 2});
  wait_loaded(0);
  auto fut = node->post(8, commit(g, 42));
  // Appended here, but follower 2 (in the ISR) has not fetched it.
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  const auto end = node->topics.find(kOffsetsTopic, 0)->log_end_offset();
  EXPECT_EQ(end, 1);
  replicas->on_follower_fetch(kOffsetsTopic, 0, 2, end);
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto res = testing::Node::decode<kafka::OffsetCommitResponse>(8, fut.get());
  EXPECT_EQ(res.topics.at(0).partitions.at(0).error_code, 0);
}

TEST_F(GroupsClusterTest, LosingLeadershipAnswersAWaitingCommitNotCoordinator) {
  start();
  const std::string g = group_in(0);
  lead(0, 1, 1, {1, 2});
  wait_loaded(0);
  // A commit waiting for follower 2 when broker 2 takes the partition over.
  auto fut = node->post(8, commit(g, 42));
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  lead(0, 2, 2, {2});
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto res = testing::Node::decode<kafka::OffsetCommitResponse>(8, fut.get());
  EXPECT_EQ(res.topics.at(0).partitions.at(0).error_code, to_wire(ErrorCode::not_coordinator));
}

}  // namespace
}  // namespace nocopy::broker
