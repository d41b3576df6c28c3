// The transaction coordinator in cluster mode, below the network: TxnService
// serving only the __transaction_state partitions this broker leads --
// loading a partition's transactional ids from its log when it becomes
// leader (COORDINATOR_LOAD_IN_PROGRESS meanwhile), dropping them when it
// stops leading (NOT_COORDINATOR), completing a transaction the log left in
// PrepareCommit (its markers sent again, with the new coordinator epoch),
// refusing state changes below min.insync.replicas and answering only once
// the ISR holds them. The replication layer is a real ReplicaManager without
// fetchers; followers' progress is reported by hand. Markers go to a
// recording stand-in for the partitions' leaders (the network path is
// tests/cluster/test_txn_coordinator_failover.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "broker/coordinator_partition.h"
#include "broker/txn_service.h"
#include "broker_test_util.h"
#include "log/record_batch.h"
#include "replicas_fixture.h"
#include "test_node.h"
#include "txn/txn_metadata.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::NoSink;

constexpr std::int32_t kParts = 4;

class TxnClusterTest : public ::testing::Test {
 protected:
  void start(std::int32_t min_isr = 1) {
    cfg.data_dir = dir.path();
    cfg.cluster = "etcd://127.0.0.1:1";  // cluster mode; no node is started here
    cfg.node_id = 1;
    node = std::make_unique<testing::Node>(cfg);
    std::string msg;
    ASSERT_EQ(node->topics.create(kTxnStateTopic, kParts,
                                  {{"cleanup.policy", "compact"}, {"min.insync.replicas", std::to_string(min_isr)}},
                                  false, &msg),
              0)
        << msg;
    ASSERT_EQ(node->topics.create("t", 2, {}, false, &msg), 0) << msg;
    replicas = testing::replicas_over(*node, sink);
    txn = std::make_unique<TxnService>(cfg, node->topics, node->groups.get(), [this] { return next_pid++; });
    TxnService::ClusterHooks h;
    h.replicas = replicas.get();
    h.state_partitions = [] { return kParts; };
    // Every data partition "exists without a live leader" until the test
    // says otherwise; each lookup is recorded as a marker attempt.
    h.leader_of = [this](const std::string& topic, std::int32_t p) -> std::optional<replication::BrokerEndpoint> {
      std::lock_guard lock(mu);
      marker_lookups.emplace_back(topic, p);
      if (markers_deleted) return std::nullopt;  // the partition is gone: nothing to mark
      return replication::BrokerEndpoint{};
    };
    txn->set_cluster(std::move(h));
    node->handler.set_txn(txn.get());
  }
  void TearDown() override {
    if (txn) txn->stop();
    if (node) node->handler.set_txn(nullptr);
    txn.reset();
    if (node) node->groups->stop();
    node.reset();
    replicas.reset();
  }
  void lead(std::int32_t p, std::int32_t leader, std::int32_t epoch, std::vector<std::int32_t> isr = {1}) {
    replication::PartitionState s{leader, epoch, epoch, {1, 2, 3}, std::move(isr)};
    replicas->apply(kTxnStateTopic, p, s);
    txn->leadership(p, leader == 1, epoch);
  }
  void wait_loaded(std::int32_t p) {
    for (int i = 0; i < 500 && txn->shard_state(p) != TxnService::ShardState::loaded; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(txn->shard_state(p), TxnService::ShardState::loaded);
  }
  static std::string id_in(std::int32_t p) {
    for (int i = 0;; ++i) {
      std::string id = "txn-" + std::to_string(i);
      if (coordinator_partition(id, kParts) == p) return id;
    }
  }
  static kafka::InitProducerIdRequest init_req(const std::string& id) {
    kafka::InitProducerIdRequest req;
    req.transactional_id = id;
    req.transaction_timeout_ms = 60000;
    return req;
  }
  kafka::InitProducerIdResponse init(const std::string& id) {
    return node->call<kafka::InitProducerIdResponse>(3, init_req(id));
  }
  std::int16_t add(const std::string& id, const kafka::InitProducerIdResponse& i, std::int32_t partition) {
    kafka::AddPartitionsToTxnRequest req;
    req.transactional_id = id;
    req.producer_id = i.producer_id;
    req.producer_epoch = i.producer_epoch;
    req.topics.push_back({"t", {partition}});
    auto r = node->call<kafka::AddPartitionsToTxnResponse>(3, req);
    return r.results.at(0).results.at(0).partition_error_code;
  }
  kafka::DescribeTransactionsResponse::TransactionState describe(const std::string& id) {
    kafka::DescribeTransactionsRequest req;
    req.transactional_ids.push_back(id);
    return node->call<kafka::DescribeTransactionsResponse>(0, req).transaction_states.at(0);
  }

  testing::TempDir dir;
  Config cfg;
  NoSink sink;
  std::atomic<std::int64_t> next_pid{1000};
  std::unique_ptr<replication::ReplicaManager> replicas;
  std::unique_ptr<testing::Node> node;
  std::unique_ptr<TxnService> txn;
  std::mutex mu;
  std::vector<std::pair<std::string, std::int32_t>> marker_lookups;  // guarded by mu
  bool markers_deleted = true;                                         // guarded by mu
};

TEST_F(TxnClusterTest, ServesOnlyLedPartitionsAndReloadsFromTheLog) {
  start();
  const std::string id = id_in(2);
  EXPECT_EQ(init(id).error_code, to_wire(ErrorCode::not_coordinator));
  lead(2, 1, 1);
  wait_loaded(2);
  const auto i = init(id);
  ASSERT_EQ(i.error_code, 0);
  EXPECT_EQ(add(id, i, 0), 0);
  EXPECT_EQ(add(id, i, 1), 0);
  // Three state changes, all in partition 2, stamped with its leader epoch.
  EXPECT_EQ(node->topics.find(kTxnStateTopic, 2)->log_end_offset(), 3);
  EXPECT_EQ(node->topics.find(kTxnStateTopic, 3)->log_end_offset(), 0);
  // Produce verification sees the ongoing transaction.
  EXPECT_EQ(txn->verify_partition(i.producer_id, i.producer_epoch, "t", 1), ErrorCode::none);

  // Leadership moves away: the state is dropped here; a producer no
  // coordinator here knows is not verified here.
  lead(2, 2, 2);
  EXPECT_EQ(txn->shard_state(2), TxnService::ShardState::absent);
  EXPECT_EQ(describe(id).error_code, to_wire(ErrorCode::not_coordinator));
  EXPECT_EQ(txn->verify_partition(i.producer_id, i.producer_epoch, "t", 1), ErrorCode::none);
  // And back: the ongoing transaction comes back from the log.
  lead(2, 1, 3);
  wait_loaded(2);
  const auto d = describe(id);
  EXPECT_EQ(d.error_code, 0);
  EXPECT_EQ(d.transaction_state, "Ongoing");
  EXPECT_EQ(d.producer_id, i.producer_id);
  EXPECT_EQ(d.producer_epoch, i.producer_epoch);
  ASSERT_EQ(d.topics.size(), 1u);
  EXPECT_EQ(d.topics.at(0).partitions, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(txn->verify_partition(i.producer_id, i.producer_epoch, "t", 0), ErrorCode::none);
  EXPECT_EQ(txn->verify_partition(i.producer_id, i.producer_epoch, "t", 5), ErrorCode::invalid_txn_state);
}

TEST_F(TxnClusterTest, LoadInProgressUntilTheReplicationLayerLeads) {
  start();
  const std::string id = id_in(1);
  replicas->apply(kTxnStateTopic, 1, replication::PartitionState{2, 1, 1, {1, 2, 3}, {1, 2}});
  txn->leadership(1, true, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(txn->shard_state(1), TxnService::ShardState::loading);
  EXPECT_EQ(init(id).error_code, to_wire(ErrorCode::coordinator_load_in_progress));
  replicas->apply(kTxnStateTopic, 1, replication::PartitionState{1, 2, 2, {1, 2, 3}, {1}});
  wait_loaded(1);
  EXPECT_EQ(init(id).error_code, 0);
}

TEST_F(TxnClusterTest, PrepareCommitInTheLogIsCompletedByTheNewLeader) {
  start();
  const std::string id = id_in(0);
  // What a previous leader stored before it died: PrepareCommit over t-0, t-1.
  txn::TxnMetadata m;
  m.transactional_id = id;
  m.producer_id = 77;
  m.producer_epoch = 4;
  m.state = txn::TxnState::prepare_commit;
  m.partitions = {{"t", 0}, {"t", 1}};
  m.start_ms = m.last_update_ms = TxnService::wall_ms();
  const auto k = txn::encode_txn_key(id);
  const auto v = txn::encode_txn_value(m);
  auto batch = log::BatchBuilder()
                   .add(std::string(reinterpret_cast<const char*>(k.data()), k.size()),
                        std::string(reinterpret_cast<const char*>(v.data()), v.size()))
                   .build();
  ASSERT_EQ(node->topics.find(kTxnStateTopic, 0)->append(batch, false, 4).error, 0);
  lead(0, 1, 5);
  wait_loaded(0);
  // The ticker sends the markers again and stores the completion.
  std::string state;
  for (int i = 0; i < 300 && state != "CompleteCommit"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    state = describe(id).transaction_state;
  }
  EXPECT_EQ(state, "CompleteCommit");
  {
    std::lock_guard lock(mu);
    EXPECT_NE(std::find(marker_lookups.begin(), marker_lookups.end(), std::make_pair(std::string("t"), 0)),
              marker_lookups.end());
    EXPECT_NE(std::find(marker_lookups.begin(), marker_lookups.end(), std::make_pair(std::string("t"), 1)),
              marker_lookups.end());
  }
  EXPECT_EQ(node->topics.find(kTxnStateTopic, 0)->log_end_offset(), 2);
}

TEST_F(TxnClusterTest, StateChangesWaitForTheIsrAndNeedMinInsyncReplicas) {
  start(/*min_isr=*/2);
  const std::string id = id_in(3);
  lead(3, 1, 1, {1});
  wait_loaded(3);
  // ISR of one below min.insync.replicas 2: nothing stored.
  EXPECT_EQ(init(id).error_code, to_wire(ErrorCode::coordinator_not_available));
  EXPECT_EQ(node->topics.find(kTxnStateTopic, 3)->log_end_offset(), 0);
  // ISR {1, 2}: the answer waits until follower 2 has the record.
  replicas->apply(kTxnStateTopic, 3, replication::PartitionState{1, 1, 2, {1, 2, 3}, {1, 2}});
  auto fut = node->post(3, init_req(id));
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  const auto end = node->topics.find(kTxnStateTopic, 3)->log_end_offset();
  EXPECT_EQ(end, 1);
  replicas->on_follower_fetch(kTxnStateTopic, 3, 2, end);
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto res = testing::Node::decode<kafka::InitProducerIdResponse>(3, fut.get());
  EXPECT_EQ(res.error_code, 0);
  EXPECT_GE(res.producer_id, 1000);
}

}  // namespace
}  // namespace nocopy::broker
