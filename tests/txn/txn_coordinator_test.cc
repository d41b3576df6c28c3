// The transaction coordinator's state machine on an injected clock, with an
// in-memory state log and participants that record the markers.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <stdexcept>

#include "kafka/error_code.h"
#include "txn_fixture.h"

namespace nocopy::txn {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using test::MemLog;
using test::Parts;
using test::TxnCoordinatorTest;

TEST_F(TxnCoordinatorTest, InitAddCommitWritesMarkersToEveryPartition) {
  auto i = init("t1");
  ASSERT_EQ(i.error_code, 0);
  EXPECT_EQ(i.producer_id, 1000);
  EXPECT_EQ(i.producer_epoch, 0);
  auto a = add("t1", 1000, 0, {{"a", 0}, {"a", 1}, {"b", 2}}, 10);
  for (auto& t : a.results)
    for (auto& p : t.results) EXPECT_EQ(p.partition_error_code, 0);
  EXPECT_EQ(c->find("t1")->state, TxnState::ongoing);
  EXPECT_EQ(c->find("t1")->start_ms, 10);
  EXPECT_EQ(end("t1", 1000, 0, true), 0);
  ASSERT_EQ(parts.markers.size(), 3u);
  for (auto& m : parts.markers) {
    EXPECT_TRUE(m.commit);
    EXPECT_EQ(m.pid, 1000);
    EXPECT_EQ(m.epoch, 0);
  }
  EXPECT_EQ(c->find("t1")->state, TxnState::complete_commit);
  // A retried EndTxn of the same outcome is fine, the other one is not.
  EXPECT_EQ(end("t1", 1000, 0, true), 0);
  EXPECT_EQ(end("t1", 1000, 0, false), to_wire(ErrorCode::invalid_txn_state));
  // Nothing open: INVALID_TXN_STATE after a fresh init.
  auto again = init("t1");
  EXPECT_EQ(again.producer_epoch, 1);
  EXPECT_EQ(end("t1", 1000, 1, true), to_wire(ErrorCode::invalid_txn_state));
}

TEST_F(TxnCoordinatorTest, SecondInitFencesTheFirstProducerAndAbortsItsTransaction) {
  auto first = init("t");
  add("t", first.producer_id, 0, {{"a", 0}});
  auto second = init("t");
  ASSERT_EQ(second.error_code, 0);
  EXPECT_EQ(second.producer_id, first.producer_id);
  EXPECT_EQ(second.producer_epoch, 1);
  ASSERT_EQ(parts.markers.size(), 1u);
  EXPECT_FALSE(parts.markers[0].commit);
  EXPECT_EQ(parts.markers[0].epoch, 1);  // the abort marker fences epoch 0 in the partition
  // The zombie is fenced everywhere.
  auto z = add("t", first.producer_id, 0, {{"a", 0}});
  EXPECT_EQ(z.results[0].results[0].partition_error_code, to_wire(ErrorCode::producer_fenced));
  EXPECT_EQ(end("t", first.producer_id, 0, true), to_wire(ErrorCode::producer_fenced));
  kafka::EndTxnRequest old;
  old.transactional_id = "t";
  old.producer_id = first.producer_id;
  old.producer_epoch = 0;
  EXPECT_EQ(c->end_txn(old, 0, 0).error_code, to_wire(ErrorCode::invalid_producer_epoch));  // v0-v1 code
  // Wrong producer id or unknown transactional id.
  EXPECT_EQ(end("t", 4242, 1, true), to_wire(ErrorCode::invalid_producer_id_mapping));
  EXPECT_EQ(end("nope", 1000, 0, true), to_wire(ErrorCode::invalid_producer_id_mapping));
}

TEST_F(TxnCoordinatorTest, BadRequests) {
  EXPECT_EQ(init("").error_code, to_wire(ErrorCode::invalid_request));
  EXPECT_EQ(init("t", 0).error_code, to_wire(ErrorCode::invalid_transaction_timeout));
  EXPECT_EQ(init("t", 900001).error_code, to_wire(ErrorCode::invalid_transaction_timeout));
  auto i = init("t");
  auto a = add("t", i.producer_id, 0, {{"a", 0}, {"missing", 0}});
  EXPECT_EQ(a.results[0].results[0].partition_error_code, to_wire(ErrorCode::operation_not_attempted));
  EXPECT_EQ(a.results[1].results[0].partition_error_code, to_wire(ErrorCode::unknown_topic_or_partition));
  EXPECT_EQ(c->find("t")->state, TxnState::empty);
  // The state log refusing a write changes nothing.
  log.fail = true;
  auto b = add("t", i.producer_id, 0, {{"a", 0}});
  EXPECT_EQ(b.results[0].results[0].partition_error_code, to_wire(ErrorCode::coordinator_not_available));
  EXPECT_EQ(c->find("t")->state, TxnState::empty);
  EXPECT_EQ(init("t").error_code, to_wire(ErrorCode::coordinator_not_available));
  EXPECT_EQ(c->find("t")->producer_epoch, 0);
}

TEST_F(TxnCoordinatorTest, AddOffsetsAddsTheGroupsOffsetsPartition) {
  auto i = init("t");
  auto ao = add_offsets_req(i.producer_id);
  ASSERT_EQ(c->add_offsets(ao, 3, 0).error_code, 0);
  EXPECT_EQ(c->find("t")->state, TxnState::ongoing);
  const TopicPartition offsets{"__consumer_offsets", 7};
  EXPECT_TRUE(c->find("t")->partitions.contains(offsets));
  // The group coordinator's check before it keeps TxnOffsetCommit's offsets.
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "__consumer_offsets", 7), ErrorCode::none);
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "__consumer_offsets", 6), ErrorCode::invalid_txn_state);
  // The commit's marker goes there like to any partition of the transaction.
  ASSERT_EQ(end("t", i.producer_id, 0, true), 0);
  ASSERT_EQ(parts.markers.size(), 1u);
  EXPECT_EQ(parts.markers[0].tp, offsets);
  EXPECT_TRUE(parts.markers[0].commit);
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "__consumer_offsets", 7), ErrorCode::invalid_txn_state);
  // No partition to name (the topic does not exist yet): retriable, nothing changes.
  ao.group_id = "nogroups";
  EXPECT_EQ(c->add_offsets(ao, 3, 0).error_code, to_wire(ErrorCode::coordinator_not_available));
  EXPECT_EQ(c->find("t")->state, TxnState::complete_commit);
}

TEST_F(TxnCoordinatorTest, TimeoutAbortsAndFencesTheProducer) {
  auto i = init("t", 1000);
  add("t", i.producer_id, 0, {{"a", 0}}, 5000);
  EXPECT_EQ(c->tick(5900), 0u);
  EXPECT_EQ(c->tick(6001), 1u);
  ASSERT_EQ(parts.markers.size(), 1u);
  EXPECT_FALSE(parts.markers[0].commit);
  EXPECT_EQ(parts.markers[0].epoch, 1);
  EXPECT_EQ(c->find("t")->state, TxnState::complete_abort);
  EXPECT_EQ(end("t", i.producer_id, 0, true), to_wire(ErrorCode::producer_fenced));
}

// A version 1 producer at the last usable epoch (32766) with a transaction
// open in partition a-0, as a restart would load it.
void load_open_at_last_epoch(TxnCoordinatorTest& t) {
  TxnMetadata m;
  m.producer_id = 1000;
  m.producer_epoch = 32766;
  m.state = TxnState::complete_commit;
  m.timeout_ms = 1000;
  ASSERT_TRUE(t.c->replay(encode_txn_key("t"), encode_txn_value(m)));
  t.next_pid = 5000;
  ASSERT_EQ(t.add("t", 1000, 32766, {{"a", 0}}).results.at(0).results.at(0).partition_error_code, 0);
}

TEST_F(TxnCoordinatorTest, AnOpenTransactionAtTheLastEpochIsAbortedUnderItsOwnProducerIdOnInit) {
  load_open_at_last_epoch(*this);
  auto i = init("t", 1000, 10);
  ASSERT_EQ(i.error_code, 0);
  // The abort markers close producer 1000's transaction (epoch 32767, which
  // no client gets); the new producer starts a new producer id.
  ASSERT_EQ(parts.markers.size(), 1u);
  EXPECT_EQ(parts.markers[0].pid, 1000);
  EXPECT_EQ(parts.markers[0].epoch, 32767);
  EXPECT_FALSE(parts.markers[0].commit);
  EXPECT_EQ(i.producer_id, 5000);
  EXPECT_EQ(i.producer_epoch, 0);
  EXPECT_NE(end("t", 1000, 32766, true), 0);
  EXPECT_EQ(add("t", 5000, 0, {{"a", 0}}).results.at(0).results.at(0).partition_error_code, 0);
}

TEST_F(TxnCoordinatorTest, ATimedOutTransactionAtTheLastEpochIsAbortedUnderItsOwnProducerId) {
  load_open_at_last_epoch(*this);
  EXPECT_EQ(c->tick(1001), 1u);
  ASSERT_EQ(parts.markers.size(), 1u);
  EXPECT_EQ(parts.markers[0].pid, 1000);
  EXPECT_EQ(parts.markers[0].epoch, 32767);
  EXPECT_FALSE(parts.markers[0].commit);
  EXPECT_EQ(c->find("t")->state, TxnState::complete_abort);
  EXPECT_NE(end("t", 1000, 32766, true), 0);  // the producer that left it open is fenced
  auto i = init("t");
  ASSERT_EQ(i.error_code, 0);
  EXPECT_EQ(i.producer_id, 5000);
  EXPECT_EQ(i.producer_epoch, 0);
}

TEST_F(TxnCoordinatorTest, FailedMarkersAreRetriedAndStateSurvivesARestart) {
  auto i = init("t");
  add("t", i.producer_id, 0, {{"a", 0}, {"a", 1}});
  parts.marker_error = to_wire(ErrorCode::kafka_storage_error);
  EXPECT_EQ(end("t", i.producer_id, 0, true), 0);  // decided: PrepareCommit
  EXPECT_EQ(c->find("t")->state, TxnState::prepare_commit);
  EXPECT_EQ(end("t", i.producer_id, 0, true), to_wire(ErrorCode::concurrent_transactions));
  // Restart from the stored records: the commit is completed at start-up.
  parts.marker_error = 0;
  restart();
  EXPECT_EQ(c->find("t")->state, TxnState::prepare_commit);
  c->finish_replay(100);
  EXPECT_EQ(parts.markers.size(), 2u);
  EXPECT_EQ(c->find("t")->state, TxnState::complete_commit);
  EXPECT_EQ(c->find("t")->producer_id, i.producer_id);
}

TEST_F(TxnCoordinatorTest, DescribeAndList) {
  auto a = init("a");
  init("b");
  add("a", a.producer_id, 0, {{"x", 0}, {"x", 2}, {"y", 1}}, 100);
  kafka::DescribeTransactionsRequest d;
  d.transactional_ids = {"a", "zz"};
  auto dr = c->describe(d);
  ASSERT_EQ(dr.transaction_states.size(), 2u);
  EXPECT_EQ(dr.transaction_states[0].transaction_state, "Ongoing");
  EXPECT_EQ(dr.transaction_states[0].topics.size(), 2u);
  EXPECT_EQ(dr.transaction_states[0].transaction_start_time_ms, 100);
  EXPECT_EQ(dr.transaction_states[1].error_code, to_wire(ErrorCode::transactional_id_not_found));
  kafka::ListTransactionsRequest l;
  EXPECT_EQ(c->list(l, 200).transaction_states.size(), 2u);
  l.state_filters = {"Ongoing", "Bogus"};
  auto lr = c->list(l, 200);
  ASSERT_EQ(lr.transaction_states.size(), 1u);
  EXPECT_EQ(lr.transaction_states[0].transactional_id, "a");
  EXPECT_EQ(lr.unknown_state_filters, std::vector<std::string>{"Bogus"});
  l.state_filters.clear();
  l.duration_filter = 150;
  EXPECT_EQ(c->list(l, 200).transaction_states.size(), 0u);
  l.duration_filter = 50;
  EXPECT_EQ(c->list(l, 200).transaction_states.size(), 1u);
}

}  // namespace
}  // namespace nocopy::txn

namespace nocopy::txn {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using test::TxnCoordinatorTest;

TEST_F(TxnCoordinatorTest, CompleteAfterAnswerAnswersEndTxnBeforeTheMarkers) {
  c = std::make_unique<TxnCoordinator>(TxnCoordinatorConfig{.complete_after_answer = true}, &log, &parts,
                                       [this] { return next_pid++; });
  auto i = init("t");
  add("t", i.producer_id, 0, {{"a", 0}, {"b", 1}});
  ASSERT_EQ(end("t", i.producer_id, 0, true), 0);
  EXPECT_EQ(c->find("t")->state, TxnState::prepare_commit);  // stored, answered
  EXPECT_TRUE(parts.markers.empty());
  // Until the markers are written: the same EndTxn again, the next
  // transaction and a new producer are CONCURRENT_TRANSACTIONS.
  EXPECT_EQ(end("t", i.producer_id, 0, true), to_wire(ErrorCode::concurrent_transactions));
  EXPECT_EQ(add("t", i.producer_id, 0, {{"a", 0}}).results[0].results[0].partition_error_code,
            to_wire(ErrorCode::concurrent_transactions));
  parts.marker_error = to_wire(ErrorCode::not_leader_or_follower);
  c->complete("t", 5);  // a marker fails: still PrepareCommit, the ticker retries
  EXPECT_EQ(c->find("t")->state, TxnState::prepare_commit);
  EXPECT_EQ(init("t").error_code, to_wire(ErrorCode::concurrent_transactions));
  parts.marker_error = 0;
  c->complete("t", 6);
  EXPECT_EQ(c->find("t")->state, TxnState::complete_commit);
  EXPECT_EQ(parts.markers.size(), 2u);
  EXPECT_EQ(end("t", i.producer_id, 0, true), 0);  // a retry of the same outcome: success
  c->complete("t", 7);  // nothing left to do
  EXPECT_EQ(parts.markers.size(), 2u);
}

TEST_F(TxnCoordinatorTest, OffsetsPartitionSurvivesARestart) {
  auto i = init("t");
  auto ao = add_offsets_req(i.producer_id);
  ASSERT_EQ(c->add_offsets(ao, 3, 0).error_code, 0);
  // A pending-offsets record (key version 1) an earlier version wrote is skipped.
  auto bytes = [](std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
  };
  log.records.emplace_back(bytes({0, 1, 0, 1, 't'}), bytes({0, 0, 0, 0, 0, 0, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0, 0}));
  // A restart while the transaction is open: the producer then aborts.
  restart();
  c->finish_replay(10);
  EXPECT_EQ(c->find("t")->state, TxnState::ongoing);
  ASSERT_EQ(end("t", i.producer_id, 0, false), 0);
  ASSERT_EQ(parts.markers.size(), 1u);
  EXPECT_EQ(parts.markers[0].tp, (TopicPartition{"__consumer_offsets", 7}));
  EXPECT_FALSE(parts.markers[0].commit);
  // A failed store is refused and changes nothing.
  log.fail = true;
  EXPECT_EQ(c->add_offsets(ao, 3, 0).error_code, to_wire(ErrorCode::coordinator_not_available));
  EXPECT_EQ(c->find("t")->state, TxnState::complete_abort);
}

}  // namespace
}  // namespace nocopy::txn

namespace nocopy::txn {
namespace {

TEST_F(TxnCoordinatorTest, ProduceIsVerifiedAgainstTheOngoingTransaction) {
  auto i = init("t");
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "a", 0), ErrorCode::invalid_txn_state);  // nothing added
  add("t", i.producer_id, 0, {{"a", 0}});
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "a", 0), ErrorCode::none);
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "a", 1), ErrorCode::invalid_txn_state);  // not added
  EXPECT_EQ(c->verify_partition(4242, 0, "a", 0), ErrorCode::invalid_txn_state);           // unknown producer
  ASSERT_EQ(end("t", i.producer_id, 0, true), 0);
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "a", 0), ErrorCode::invalid_txn_state);  // ended
  init("t");
  EXPECT_EQ(c->verify_partition(i.producer_id, 0, "a", 0), ErrorCode::invalid_producer_epoch);  // fenced
}

// verify_partition finds the producer by its id among many transactional
// ids, and follows a producer id that changes (epoch exhausted), a restart
// and a removed id.
TEST_F(TxnCoordinatorTest, ProduceVerificationFollowsProducerIdsAcrossIdsAndRestarts) {
  std::vector<std::int64_t> pids;
  for (int n = 0; n < 50; ++n) {
    const std::string id = "id-" + std::to_string(n);
    pids.push_back(init(id).producer_id);
    add(id, pids.back(), 0, {{"a", n % 3}});
  }
  for (int n = 0; n < 50; ++n) {
    EXPECT_EQ(c->verify_partition(pids[n], 0, "a", n % 3), ErrorCode::none) << n;
    EXPECT_EQ(c->verify_partition(pids[n], 0, "a", (n + 1) % 3), ErrorCode::invalid_txn_state) << n;
  }
  // An id at the last epoch gets a new producer id at the next init; the
  // old producer id then owns nothing.
  TxnMetadata last;
  last.producer_id = 5000;
  last.producer_epoch = 32766;
  last.state = TxnState::empty;
  ASSERT_TRUE(c->replay(encode_txn_key("worn"), encode_txn_value(last)));
  add("worn", 5000, 32766, {{"b", 0}});
  EXPECT_EQ(c->verify_partition(5000, 32766, "b", 0), ErrorCode::none);
  auto fresh = init("worn");
  ASSERT_EQ(fresh.error_code, 0);
  ASSERT_NE(fresh.producer_id, 5000);
  EXPECT_EQ(fresh.producer_epoch, 0);
  EXPECT_EQ(c->verify_partition(5000, 32766, "b", 0), ErrorCode::invalid_txn_state);
  add("worn", fresh.producer_id, 0, {{"b", 1}});
  EXPECT_EQ(c->verify_partition(fresh.producer_id, 0, "b", 1), ErrorCode::none);
  // A restart rebuilds the lookup from the state log; a removed id (empty
  // value) owns nothing afterwards.
  restart();
  ASSERT_TRUE(c->replay(encode_txn_key("worn"), encode_txn_value(last)));
  add("worn", 5000, 32766, {{"b", 2}});
  EXPECT_EQ(c->verify_partition(pids[7], 0, "a", 7 % 3), ErrorCode::none);
  EXPECT_EQ(c->verify_partition(5000, 32766, "b", 2), ErrorCode::none);
  EXPECT_EQ(c->verify_partition(fresh.producer_id, 0, "b", 1), ErrorCode::invalid_txn_state);
  ASSERT_TRUE(c->replay(encode_txn_key("worn"), {}));
  EXPECT_EQ(c->verify_partition(5000, 32766, "b", 2), ErrorCode::invalid_txn_state);
  EXPECT_FALSE(c->find("worn"));
}

}  // namespace
}  // namespace nocopy::txn
