// The transaction APIs at Kafka 4.x's versions through the RequestHandler:
// a whole transaction at InitProducerId v5, AddOffsetsToTxn v4,
// TxnOffsetCommit v4 and EndTxn v4; and KIP-890's TRANSACTION_ABORTABLE,
// answered for a transactional batch or offset commit outside the
// producer's transaction to versions that know it (Produce v11+,
// TxnOffsetCommit v4+) and INVALID_TXN_STATE to older ones. Transaction
// version 2: Produce v12 and TxnOffsetCommit v5 adding the partition and the
// group themselves, EndTxn v5 bumping the epoch, at the broker's
// transaction_version 2 (and Produce v12 verified as before below it).
// TxnOffsetCommit v6 naming topics by id, an unknown id answered
// UNKNOWN_TOPIC_ID beside the committed ones.
#include <gtest/gtest.h>

#include <memory>

#include "broker/txn_service.h"
#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "log/record_batch.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;

struct TxnVersionsTest : ::testing::Test {
  TxnVersionsTest() {
    cfg.data_dir = dir.path() / "data";
    cfg.listen = HostPort::parse("127.0.0.1:9999");
    node = std::make_unique<Node>(cfg);
    txn = std::make_unique<TxnService>(cfg, node->topics, node->groups.get(),
                                       [this] { return node->handler.allocate_producer_id(); });
    node->handler.set_txn(txn.get());
    EXPECT_EQ(node->topics.create("t", 2), 0);
  }
  ~TxnVersionsTest() override {
    node->handler.set_txn(nullptr);
    txn.reset();
    node.reset();
  }

  kafka::InitProducerIdResponse init(const std::string& id, std::int16_t version) {
    kafka::InitProducerIdRequest req;
    req.transactional_id = id;
    req.transaction_timeout_ms = 60000;
    return node->call<kafka::InitProducerIdResponse>(version, req);
  }
  // One transactional batch of `pid`/`epoch` for t-`partition` at `version`.
  kafka::ProduceResponse::PartitionResponse produce(std::int16_t version, const std::string& id, std::int64_t pid,
                                                    std::int16_t epoch, std::int32_t partition, std::int32_t seq) {
    const auto batch = log::BatchBuilder()
                           .timestamp(1000)
                           .producer(pid, epoch, seq)
                           .attributes(log::kAttrTransactional)
                           .add("k", "v")
                           .build();
    auto req = testing::produce_request("t", partition, batch);
    req.transactional_id = id;
    auto r = node->call<kafka::ProduceResponse>(version, req);
    EXPECT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses.at(0).partitions.size(), 1u);
    return r.responses.at(0).partitions.at(0);
  }
  kafka::TxnOffsetCommitRequest offsets(const std::string& id, std::int64_t pid, std::int16_t epoch) {
    kafka::TxnOffsetCommitRequest req;
    req.transactional_id = id;
    req.group_id = "g";
    req.producer_id = pid;
    req.producer_epoch = epoch;
    req.topics.emplace_back().name = "t";
    req.topics[0].partitions.push_back({0, 1, -1, std::nullopt});
    return req;
  }
  static kafka::EndTxnRequest commit(const std::string& id, std::int64_t pid, std::int16_t epoch) {
    kafka::EndTxnRequest end;
    end.transactional_id = id;
    end.producer_id = pid;
    end.producer_epoch = epoch;
    end.committed = true;
    return end;
  }

  testing::TempDir dir;
  Config cfg;
  std::unique_ptr<Node> node;
  std::unique_ptr<TxnService> txn;
};

TEST_F(TxnVersionsTest, WholeTransactionAtTheNewestVersions) {
  const auto i = init("a", 5);
  ASSERT_EQ(i.error_code, 0);
  kafka::AddPartitionsToTxnRequest add;
  add.transactional_id = "a";
  add.producer_id = i.producer_id;
  add.producer_epoch = i.producer_epoch;
  add.topics = {{"t", {0}}};
  auto a = node->call<kafka::AddPartitionsToTxnResponse>(3, add);
  ASSERT_EQ(a.results.size(), 1u);
  EXPECT_EQ(a.results[0].results.at(0).partition_error_code, 0);
  EXPECT_EQ(produce(11, "a", i.producer_id, i.producer_epoch, 0, 0).error_code, 0);
  kafka::AddOffsetsToTxnRequest ao;
  ao.transactional_id = "a";
  ao.producer_id = i.producer_id;
  ao.producer_epoch = i.producer_epoch;
  ao.group_id = "g";
  EXPECT_EQ(node->call<kafka::AddOffsetsToTxnResponse>(4, ao).error_code, 0);
  auto c = node->call<kafka::TxnOffsetCommitResponse>(4, offsets("a", i.producer_id, i.producer_epoch));
  ASSERT_EQ(c.topics.size(), 1u);
  EXPECT_EQ(c.topics[0].partitions.at(0).error_code, 0);
  EXPECT_EQ(node->call<kafka::EndTxnResponse>(4, commit("a", i.producer_id, i.producer_epoch)).error_code, 0);
  // A second InitProducerId v5 fences the first epoch.
  const auto again = init("a", 5);
  EXPECT_EQ(again.producer_id, i.producer_id);
  EXPECT_EQ(again.producer_epoch, i.producer_epoch + 1);
}

TEST_F(TxnVersionsTest, ProduceOutsideTheTransactionIsAbortableFromV11) {
  cfg.transaction_version = 1;  // Produce v12 adds nothing below transaction version 2
  const auto i = init("a", 5);
  ASSERT_EQ(i.error_code, 0);
  // Nothing added to a transaction: every version refuses the batch.
  auto v10 = produce(10, "a", i.producer_id, i.producer_epoch, 1, 0);
  EXPECT_EQ(v10.error_code, to_wire(ErrorCode::invalid_txn_state));
  EXPECT_EQ(v10.error_message.value_or(""), "Partition was not added to the transaction");
  auto v7 = produce(7, "a", i.producer_id, i.producer_epoch, 1, 0);
  EXPECT_EQ(v7.error_code, to_wire(ErrorCode::invalid_txn_state));
  for (std::int16_t v : {11, 12}) {
    SCOPED_TRACE("v" + std::to_string(v));
    auto r = produce(v, "a", i.producer_id, i.producer_epoch, 1, 0);
    EXPECT_EQ(r.error_code, to_wire(ErrorCode::transaction_abortable));
    EXPECT_EQ(r.base_offset, -1);
  }
  EXPECT_EQ(node->topics.find("t", 1)->log_end_offset(), 0);
}

TEST_F(TxnVersionsTest, TxnOffsetCommitWithoutAddOffsetsIsAbortableFromV4) {
  const auto i = init("a", 5);
  ASSERT_EQ(i.error_code, 0);
  auto v3 = node->call<kafka::TxnOffsetCommitResponse>(3, offsets("a", i.producer_id, i.producer_epoch));
  EXPECT_EQ(v3.topics.at(0).partitions.at(0).error_code, to_wire(ErrorCode::invalid_txn_state));
  auto v4 = node->call<kafka::TxnOffsetCommitResponse>(4, offsets("a", i.producer_id, i.producer_epoch));
  EXPECT_EQ(v4.topics.at(0).partitions.at(0).error_code, to_wire(ErrorCode::transaction_abortable));
}

TEST_F(TxnVersionsTest, TransactionVersion2AddsPartitionsAndGroupsAndBumpsTheEpoch) {
  ASSERT_EQ(cfg.transaction_version, 2);  // the default, as Kafka 4.x
  const auto i = init("a", 5);
  ASSERT_EQ(i.error_code, 0);
  const auto pid = i.producer_id;
  // No AddPartitionsToTxn: the leader adds t-0 for the Produce v12.
  auto p = produce(12, "a", pid, 0, 0, 0);
  ASSERT_EQ(p.error_code, 0);
  EXPECT_EQ(p.base_offset, 0);
  EXPECT_EQ(produce(12, "a", pid, 0, 0, 1).error_code, 0);  // continues the open transaction
  // No AddOffsetsToTxn: the group coordinator adds the group's partition.
  auto c = node->call<kafka::TxnOffsetCommitResponse>(5, offsets("a", pid, 0));
  EXPECT_EQ(c.topics.at(0).partitions.at(0).error_code, 0);
  auto d = txn->route("a").coordinator->find("a");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state, txn::TxnState::ongoing);
  EXPECT_EQ(d->partitions.size(), 2u);  // t-0 and the group's __consumer_offsets partition
  EXPECT_EQ(d->client_version, 2);
  kafka::EndTxnRequest end = commit("a", pid, 0);
  auto e = node->call<kafka::EndTxnResponse>(5, end);
  ASSERT_EQ(e.error_code, 0);
  EXPECT_EQ(e.producer_id, pid);
  EXPECT_EQ(e.producer_epoch, 1);
  // The COMMIT marker carries epoch 1 and closes the transaction in t-0.
  auto part = node->topics.find("t", 0);
  EXPECT_EQ(part->log_end_offset(), 3);
  EXPECT_EQ(part->last_stable_offset(), 3);
  EXPECT_FALSE(part->in_transaction(pid, 0));
  // A retried EndTxn (the answer lost): success with the current identity.
  auto retry = node->call<kafka::EndTxnResponse>(5, end);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.producer_epoch, 1);
  EXPECT_EQ(part->log_end_offset(), 3);  // no second marker
  // A late batch of the finished transaction is fenced; the next epoch starts at sequence 0.
  EXPECT_EQ(produce(12, "a", pid, 0, 0, 2).error_code, to_wire(ErrorCode::invalid_producer_epoch));
  EXPECT_EQ(produce(12, "a", pid, 1, 0, 0).error_code, 0);
  EXPECT_EQ(part->last_stable_offset(), 3);  // the new transaction holds it
  // Once the next transaction began, the old retry is fenced.
  EXPECT_EQ(node->call<kafka::EndTxnResponse>(5, end).error_code, to_wire(ErrorCode::producer_fenced));
  end.producer_epoch = 1;
  end.committed = false;
  e = node->call<kafka::EndTxnResponse>(5, end);
  ASSERT_EQ(e.error_code, 0);
  EXPECT_EQ(e.producer_epoch, 2);
  EXPECT_EQ(part->last_stable_offset(), part->log_end_offset());
  // ApiVersions offers EndTxn and TxnOffsetCommit v5 and finalizes the feature at 2.
  kafka::ApiVersionsRequest av;  // v3+ names its software (else INVALID_REQUEST, as in Kafka)
  av.client_software_name = "nocopy-test";
  av.client_software_version = "1.0";
  auto v = node->call<kafka::ApiVersionsResponse>(3, av);
  ASSERT_EQ(v.finalized_features.size(), 1u);
  EXPECT_EQ(v.finalized_features[0].name, "transaction.version");
  EXPECT_EQ(v.finalized_features[0].max_version_level, 2);
}

TEST_F(TxnVersionsTest, TxnOffsetCommitV6NamesTopicsById) {
  const auto i = init("a", 5);
  ASSERT_EQ(i.error_code, 0);
  const kafka::Uuid id = node->topics.find("t")->topic_id;
  kafka::Uuid unknown{};
  unknown[15] = std::byte{7};
  auto req = offsets("a", i.producer_id, i.producer_epoch);
  req.topics[0].name.clear();
  req.topics[0].topic_id = id;
  req.topics.emplace_back().topic_id = unknown;
  req.topics[1].partitions.push_back({3, 7, -1, std::nullopt});
  auto c = node->call<kafka::TxnOffsetCommitResponse>(6, req);
  ASSERT_EQ(c.topics.size(), 2u);
  EXPECT_EQ(c.topics[0].topic_id, id);
  EXPECT_EQ(c.topics[0].partitions.at(0).error_code, 0);
  EXPECT_EQ(c.topics[1].topic_id, unknown);
  ASSERT_EQ(c.topics[1].partitions.size(), 1u);
  EXPECT_EQ(c.topics[1].partitions[0].partition_index, 3);
  EXPECT_EQ(c.topics[1].partitions[0].error_code, to_wire(ErrorCode::unknown_topic_id));
  // The offset of t-0 is pending in the transaction; the commit makes it the group's.
  ASSERT_EQ(node->call<kafka::EndTxnResponse>(5, commit("a", i.producer_id, i.producer_epoch)).error_code, 0);
  kafka::OffsetFetchRequest f;
  f.group_id = "g";
  f.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "t", .partition_indexes = {0}}};
  auto fetched = node->call<kafka::OffsetFetchResponse>(7, f);
  EXPECT_EQ(fetched.topics.at(0).partitions.at(0).committed_offset, 1);
  // A group generation for a group that does not exist: GROUP_ID_NOT_FOUND at v6.
  req = offsets("a", i.producer_id, static_cast<std::int16_t>(i.producer_epoch + 1));
  req.group_id = "nobody";
  req.generation_id = 4;
  req.member_id = "m";
  req.topics[0].name.clear();
  req.topics[0].topic_id = id;
  auto missing = node->call<kafka::TxnOffsetCommitResponse>(6, req);
  EXPECT_EQ(missing.topics.at(0).partitions.at(0).error_code, to_wire(ErrorCode::group_id_not_found));
}

}  // namespace
}  // namespace nocopy::broker
