// Transaction version 2 at the coordinator (KIP-890): the epoch bump of
// every EndTxn v5, retries with the epoch before the bump, the move to the
// next producer id when the epoch runs out, partitions added by brokers
// (a Produce v12+ leader, a TxnOffsetCommit v5 group coordinator), the
// records' v1 fields through a restart, and a version 1 transaction beside
// a version 2 one.
#include <gtest/gtest.h>

#include "kafka/error_code.h"
#include "txn_fixture.h"

namespace nocopy::txn {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using test::TxnCoordinatorTest;

constexpr std::int16_t kLastEpoch = 32766;

TEST_F(TxnCoordinatorTest, EveryEndTxnV5BumpsTheEpochAndTheMarkersCarryIt) {
  auto i = init("t");
  ASSERT_EQ(i.producer_epoch, 0);
  // The partition leader adds the partition for the producer (no
  // AddPartitionsToTxn from the client): the transaction is version 2.
  ASSERT_EQ(broker_add("t", 1000, 0, {{"a", 0}, {"b", 1}}, 5), 0);
  EXPECT_EQ(c->find("t")->state, TxnState::ongoing);
  EXPECT_EQ(c->find("t")->client_version, 2);
  auto r = end5("t", 1000, 0, true, 9);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 1);
  ASSERT_EQ(parts.markers.size(), 2u);
  for (const auto& m : parts.markers) {
    EXPECT_TRUE(m.commit);
    EXPECT_EQ(m.pid, 1000);
    EXPECT_EQ(m.epoch, 1);  // the bumped epoch fences the transaction's own late batches
  }
  EXPECT_EQ(c->find("t")->state, TxnState::complete_commit);
  EXPECT_EQ(c->find("t")->producer_epoch, 1);
  // The old epoch can no longer add; the new one begins the next transaction.
  EXPECT_EQ(broker_add("t", 1000, 0, {{"a", 0}}), to_wire(ErrorCode::producer_fenced));
  EXPECT_EQ(c->verify_partition(1000, 0, "a", 0), ErrorCode::invalid_producer_epoch);
  ASSERT_EQ(broker_add("t", 1000, 1, {{"a", 0}}), 0);
  EXPECT_EQ(c->verify_partition(1000, 1, "a", 0), ErrorCode::none);
  r = end5("t", 1000, 1, false);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.producer_epoch, 2);
  ASSERT_EQ(parts.markers.size(), 3u);
  EXPECT_FALSE(parts.markers.back().commit);
  EXPECT_EQ(parts.markers.back().epoch, 2);
}

TEST_F(TxnCoordinatorTest, EndTxnV5RetriesAreAnsweredAsKafkaDoes) {
  init("t");
  ASSERT_EQ(broker_add("t", 1000, 0, {{"a", 0}}), 0);
  ASSERT_EQ(end5("t", 1000, 0, true).error_code, 0);
  ASSERT_EQ(parts.markers.size(), 1u);
  // The answer was lost: the client retries with the epoch before the bump.
  auto retry = end5("t", 1000, 0, true);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.producer_id, 1000);
  EXPECT_EQ(retry.producer_epoch, 1);
  EXPECT_EQ(parts.markers.size(), 1u);  // nothing written again
  // The other outcome at the old epoch, a commit with nothing open.
  EXPECT_EQ(end5("t", 1000, 0, false).error_code, to_wire(ErrorCode::invalid_txn_state));
  auto bad = end5("t", 1000, 1, true);
  EXPECT_EQ(bad.error_code, to_wire(ErrorCode::invalid_txn_state));
  EXPECT_EQ(bad.producer_id, -1);
  EXPECT_EQ(bad.producer_epoch, -1);
  // An abort with nothing open is an empty abort: the epoch moves on, no marker.
  auto empty_abort = end5("t", 1000, 1, false);
  ASSERT_EQ(empty_abort.error_code, 0);
  EXPECT_EQ(empty_abort.producer_epoch, 2);
  EXPECT_EQ(parts.markers.size(), 1u);
  EXPECT_EQ(c->find("t")->state, TxnState::complete_abort);
  // Its retry succeeds; an epoch two behind is fenced; another id is not this one.
  EXPECT_EQ(end5("t", 1000, 1, false).error_code, 0);
  EXPECT_EQ(end5("t", 1000, 0, false).error_code, to_wire(ErrorCode::producer_fenced));
  EXPECT_EQ(end5("t", 77, 2, false).error_code, to_wire(ErrorCode::invalid_producer_id_mapping));
  EXPECT_EQ(end5("nobody", 1000, 2, false).error_code, to_wire(ErrorCode::invalid_producer_id_mapping));
  // Ongoing and Empty take only the current epoch.
  ASSERT_EQ(broker_add("t", 1000, 2, {{"a", 0}}), 0);
  EXPECT_EQ(end5("t", 1000, 1, true).error_code, to_wire(ErrorCode::producer_fenced));
  EXPECT_EQ(c->find("t")->state, TxnState::ongoing);
  auto i = init("u");
  EXPECT_EQ(end5("u", i.producer_id, 0, true).error_code, to_wire(ErrorCode::invalid_txn_state));
  EXPECT_EQ(end5("u", i.producer_id, 0, false).producer_epoch, 1);
}

TEST_F(TxnCoordinatorTest, EndTxnV5PastTheLastEpochMovesToTheNextProducerId) {
  // A producer at the last usable epoch, as a restart would load it.
  TxnMetadata m;
  m.producer_id = 1000;
  m.producer_epoch = kLastEpoch;
  m.state = TxnState::complete_commit;
  m.client_version = 2;
  ASSERT_TRUE(c->replay(encode_txn_key("t"), encode_txn_value(m, 1)));
  next_pid = 5000;
  ASSERT_EQ(broker_add("t", 1000, kLastEpoch, {{"a", 0}}), 0);
  auto r = end5("t", 1000, kLastEpoch, true);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.producer_id, 5000);
  EXPECT_EQ(r.producer_epoch, 0);
  // The markers end the old producer's transaction with an epoch no client uses.
  ASSERT_EQ(parts.markers.size(), 1u);
  EXPECT_EQ(parts.markers[0].pid, 1000);
  EXPECT_EQ(parts.markers[0].epoch, 32767);
  auto now = c->find("t");
  EXPECT_EQ(now->producer_id, 5000);
  EXPECT_EQ(now->producer_epoch, 0);
  EXPECT_EQ(now->prev_producer_id, 1000);
  EXPECT_EQ(now->next_producer_id, -1);
  // A retry from the old id at the last epoch gets the new identity.
  auto retry = end5("t", 1000, kLastEpoch, true);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.producer_id, 5000);
  EXPECT_EQ(retry.producer_epoch, 0);
  EXPECT_EQ(parts.markers.size(), 1u);
  // The old id is gone: the new one carries on.
  EXPECT_EQ(broker_add("t", 1000, kLastEpoch, {{"a", 0}}), to_wire(ErrorCode::invalid_producer_id_mapping));
  EXPECT_EQ(broker_add("t", 5000, 0, {{"a", 0}}), 0);
  EXPECT_EQ(c->verify_partition(5000, 0, "a", 0), ErrorCode::none);
  EXPECT_EQ(end5("t", 5000, 0, true).producer_epoch, 1);
}

TEST_F(TxnCoordinatorTest, TransactionVersion2RecordsSurviveARestart) {
  cfg.transaction_version = 2;
  cfg.complete_after_answer = true;  // a cluster's coordinator: answered once Prepare* is stored
  c = make();
  TxnMetadata start;
  start.producer_id = 1000;
  start.producer_epoch = kLastEpoch;
  start.state = TxnState::empty;
  ASSERT_TRUE(c->replay(encode_txn_key("t"), encode_txn_value(start, 1)));
  next_pid = 5000;
  ASSERT_EQ(broker_add("t", 1000, kLastEpoch, {{"a", 0}, {"a", 1}}), 0);
  auto r = end5("t", 1000, kLastEpoch, false);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.producer_id, 5000);  // answered before the markers: the identity once complete
  EXPECT_EQ(r.producer_epoch, 0);
  EXPECT_EQ(end5("t", 1000, kLastEpoch, false).error_code, to_wire(ErrorCode::concurrent_transactions));
  ASSERT_FALSE(log.records.empty());
  // Written as TransactionLogValue v1 (the broker finalizes version 2).
  const auto& prepared = log.records.back().second;
  EXPECT_EQ(prepared.at(0), std::byte{0});
  EXPECT_EQ(prepared.at(1), std::byte{1});
  // The coordinator fails over before the markers: the next one loads the log.
  restart();
  auto loaded = c->find("t");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->state, TxnState::prepare_abort);
  EXPECT_EQ(loaded->producer_id, 1000);
  EXPECT_EQ(loaded->producer_epoch, 32767);
  EXPECT_EQ(loaded->next_producer_id, 5000);
  EXPECT_EQ(loaded->client_version, 2);
  c->finish_replay(10);
  ASSERT_EQ(parts.markers.size(), 2u);
  for (const auto& m : parts.markers) {
    EXPECT_FALSE(m.commit);
    EXPECT_EQ(m.pid, 1000);
    EXPECT_EQ(m.epoch, 32767);
  }
  auto done = c->find("t");
  EXPECT_EQ(done->state, TxnState::complete_abort);
  EXPECT_EQ(done->producer_id, 5000);
  EXPECT_EQ(done->producer_epoch, 0);
  EXPECT_EQ(done->prev_producer_id, 1000);
  // And once more from the completed record.
  restart();
  EXPECT_EQ(c->find("t")->producer_id, 5000);
  EXPECT_EQ(c->find("t")->prev_producer_id, 1000);
  EXPECT_EQ(end5("t", 1000, kLastEpoch, false).producer_id, 5000);  // the retry still recognised
}

TEST_F(TxnCoordinatorTest, GroupCoordinatorAddsTheOffsetsPartitionForTxnOffsetCommitV5) {
  auto i = init("t");
  // A client may not add __consumer_offsets; a group coordinator may.
  EXPECT_EQ(add("t", i.producer_id, 0, {{"__consumer_offsets", 7}}).results[0].results[0].partition_error_code,
            to_wire(ErrorCode::unknown_topic_or_partition));
  ASSERT_EQ(broker_add("t", i.producer_id, 0, {{"__consumer_offsets", 7}}), 0);
  ASSERT_EQ(broker_add("t", i.producer_id, 0, {{"a", 2}}), 0);
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "__consumer_offsets", 7), ErrorCode::none);
  ASSERT_EQ(end5("t", i.producer_id, 0, true).error_code, 0);
  ASSERT_EQ(parts.markers.size(), 2u);
  EXPECT_EQ(parts.markers[0].tp, (TopicPartition{"__consumer_offsets", 7}));
  EXPECT_EQ(parts.markers[0].epoch, 1);
  // A partition that does not exist fails alone (the rest not attempted).
  auto missing = add("t", i.producer_id, 1, {{"a", 0}, {"missing", 0}}, 0, 5);
  EXPECT_EQ(missing.results[0].results[0].partition_error_code, to_wire(ErrorCode::operation_not_attempted));
  EXPECT_EQ(missing.results[1].results[0].partition_error_code, to_wire(ErrorCode::unknown_topic_or_partition));
}

TEST_F(TxnCoordinatorTest, VersionOneAndVersionTwoTransactionsSideBySide) {
  auto v1 = init("old");    // a client that adds partitions itself (librdkafka, kafkajs)
  auto v2 = init("new");    // a Java 4.x producer
  for (int round = 0; round < 3; ++round) {
    const auto e2 = static_cast<std::int16_t>(round);
    ASSERT_EQ(add("old", v1.producer_id, 0, {{"a", 0}}).results[0].results[0].partition_error_code, 0);
    ASSERT_EQ(broker_add("new", v2.producer_id, e2, {{"a", 0}}), 0);
    ASSERT_EQ(end("old", v1.producer_id, 0, true), 0);  // EndTxn v3: the epoch stays
    auto r = end5("new", v2.producer_id, e2, round % 2 == 0);
    ASSERT_EQ(r.error_code, 0);
    EXPECT_EQ(r.producer_epoch, e2 + 1);
  }
  EXPECT_EQ(c->find("old")->producer_epoch, 0);
  EXPECT_EQ(c->find("old")->client_version, 0);
  EXPECT_EQ(c->find("new")->producer_epoch, 3);
  EXPECT_EQ(c->find("new")->client_version, 2);
  ASSERT_EQ(parts.markers.size(), 6u);
  for (std::size_t k = 0; k < parts.markers.size(); ++k) {  // per round: the old one's, then the new one's
    EXPECT_EQ(parts.markers[k].pid, k % 2 == 0 ? v1.producer_id : v2.producer_id);
    EXPECT_EQ(parts.markers[k].epoch, k % 2 == 0 ? 0 : static_cast<std::int16_t>(k / 2 + 1));
  }
  // A version 1 producer's EndTxn keeps answering without an identity.
  ASSERT_EQ(add("old", v1.producer_id, 0, {{"a", 1}}).results[0].results[0].partition_error_code, 0);
  kafka::EndTxnRequest q;
  q.transactional_id = "old";
  q.producer_id = v1.producer_id;
  q.producer_epoch = 0;
  q.committed = false;
  auto r = c->end_txn(q, 4, 0);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(c->find("old")->producer_epoch, 0);
}

}  // namespace
}  // namespace nocopy::txn
