// AddPartitionsToTxn v4-v5, the brokers' batched form: several transactions
// in one request, each added as a v3 request would add it or -- verify_only --
// only checked against the ongoing transaction; v0-v3 unchanged beside it.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "broker/txn_service.h"
#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;

using Topics = std::vector<kafka::AddPartitionsToTxnRequest::Topic>;

kafka::AddPartitionsToTxnRequest::Transaction txn(const std::string& id, std::int64_t pid, std::int16_t epoch,
                                                  bool verify_only, Topics topics) {
  kafka::AddPartitionsToTxnRequest::Transaction t;
  t.transactional_id = id;
  t.producer_id = pid;
  t.producer_epoch = epoch;
  t.verify_only = verify_only;
  t.topics = std::move(topics);
  return t;
}

std::int16_t error_of(const kafka::AddPartitionsToTxnResponse& r, const std::string& id, const std::string& topic,
                      std::int32_t partition) {
  for (const auto& t : r.results_by_transaction)
    if (t.transactional_id == id)
      for (const auto& tr : t.topic_results)
        if (tr.name == topic)
          for (const auto& p : tr.results)
            if (p.partition_index == partition) return p.partition_error_code;
  ADD_FAILURE() << "no result for " << id << " " << topic << "-" << partition;
  return -1;
}

struct TxnNode {
  explicit TxnNode(const Config& c) : node(c) {
    txn = std::make_unique<TxnService>(c, node.topics, node.groups.get(),
                                       [this] { return node.handler.allocate_producer_id(); });
    node.handler.set_txn(txn.get());
  }
  ~TxnNode() {
    node.handler.set_txn(nullptr);
    txn.reset();
  }
  std::pair<std::int64_t, std::int16_t> init(const std::string& id) {
    kafka::InitProducerIdRequest req;
    req.transactional_id = id;
    req.transaction_timeout_ms = 60000;
    auto r = node.call<kafka::InitProducerIdResponse>(3, req);
    EXPECT_EQ(r.error_code, 0);
    return {r.producer_id, r.producer_epoch};
  }
  Node node;
  std::unique_ptr<TxnService> txn;
};

class AddPartitionsBatch : public testing::NodeTest {};
class ListTransactions : public testing::NodeTest {};

TEST_F(AddPartitionsBatch, AddsAndVerifiesSeveralTransactionsInOneRequest) {
  TxnNode n(cfg);
  ASSERT_EQ(n.node.topics.create("t", 3), 0);
  auto [pa, ea] = n.init("a");
  auto [pb, eb] = n.init("b");

  for (std::int16_t v : {4, 5}) {
    SCOPED_TRACE("v" + std::to_string(v));
    // "a" adds t-0 (an add opens its transaction); "b" adds t-1 and t-2.
    kafka::AddPartitionsToTxnRequest add;
    add.transactions.push_back(txn("a", pa, ea, false, {{"t", {0}}}));
    add.transactions.push_back(txn("b", pb, eb, false, {{"t", {1, 2}}}));
    auto r = n.node.call<kafka::AddPartitionsToTxnResponse>(v, add);
    EXPECT_EQ(r.error_code, 0);
    ASSERT_EQ(r.results_by_transaction.size(), 2u);
    EXPECT_EQ(error_of(r, "a", "t", 0), 0);
    EXPECT_EQ(error_of(r, "b", "t", 1), 0);
    EXPECT_EQ(error_of(r, "b", "t", 2), 0);

    // Verification: in the transaction -> NONE; not added -> TRANSACTION_ABORTABLE
    // (v5; INVALID_TXN_STATE in v4); an older epoch -> INVALID_PRODUCER_EPOCH.
    // Nothing is added by it.
    const auto not_added = to_wire(v >= 5 ? ErrorCode::transaction_abortable : ErrorCode::invalid_txn_state);
    kafka::AddPartitionsToTxnRequest check;
    check.transactions.push_back(txn("a", pa, ea, true, {{"t", {0, 1}}}));
    check.transactions.push_back(txn("b", pb, static_cast<std::int16_t>(eb - 1), true, {{"t", {1}}}));
    auto c = n.node.call<kafka::AddPartitionsToTxnResponse>(v, check);
    EXPECT_EQ(c.error_code, 0);
    EXPECT_EQ(error_of(c, "a", "t", 0), 0);
    EXPECT_EQ(error_of(c, "a", "t", 1), not_added);
    EXPECT_EQ(error_of(c, "b", "t", 1), to_wire(ErrorCode::invalid_producer_epoch));
    auto again = n.node.call<kafka::AddPartitionsToTxnResponse>(v, check);
    EXPECT_EQ(error_of(again, "a", "t", 1), not_added);
  }

  // The client form (v3) beside it: "a" adds t-1, which then verifies.
  kafka::AddPartitionsToTxnRequest v3;
  v3.transactional_id = "a";
  v3.producer_id = pa;
  v3.producer_epoch = ea;
  v3.topics = {{"t", {1}}};
  auto r3 = n.node.call<kafka::AddPartitionsToTxnResponse>(3, v3);
  ASSERT_EQ(r3.results.size(), 1u);
  EXPECT_EQ(r3.results[0].results.at(0).partition_error_code, 0);
  kafka::AddPartitionsToTxnRequest check;
  check.transactions.push_back(txn("a", pa, ea, true, {{"t", {1}}}));
  EXPECT_EQ(error_of(n.node.call<kafka::AddPartitionsToTxnResponse>(5, check), "a", "t", 1), 0);
}

// ListTransactions v2: the whole transactional id must match the pattern;
// null or empty lists all; a pattern that does not compile is
// INVALID_REGULAR_EXPRESSION; v0-v1 never filter by pattern.
TEST_F(ListTransactions, V2FiltersByTransactionalIdPattern) {
  TxnNode n(cfg);
  for (const char* id : {"orders-1", "orders-2", "payments-1"}) n.init(id);
  auto ids = [&](std::int16_t v, std::optional<std::string> pattern) {
    kafka::ListTransactionsRequest req;
    req.transactional_id_pattern = std::move(pattern);
    auto r = n.node.call<kafka::ListTransactionsResponse>(v, req);
    EXPECT_EQ(r.error_code, 0);
    std::vector<std::string> out;
    for (const auto& s : r.transaction_states) out.push_back(s.transactional_id);
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(2, "orders-.*"), (V{"orders-1", "orders-2"}));
  EXPECT_EQ(ids(2, "orders"), V{});  // a partial match is no match
  EXPECT_EQ(ids(2, ".*-1"), (V{"orders-1", "payments-1"}));
  EXPECT_EQ(ids(2, std::nullopt), (V{"orders-1", "orders-2", "payments-1"}));
  EXPECT_EQ(ids(2, ""), (V{"orders-1", "orders-2", "payments-1"}));
  EXPECT_EQ(ids(1, "orders-.*"), (V{"orders-1", "orders-2", "payments-1"}));  // not on the wire before v2
  kafka::ListTransactionsRequest bad;
  bad.transactional_id_pattern = "orders-(";
  auto r = n.node.call<kafka::ListTransactionsResponse>(2, bad);
  EXPECT_EQ(r.error_code, to_wire(ErrorCode::invalid_regular_expression));
  EXPECT_TRUE(r.transaction_states.empty());
}

}  // namespace
}  // namespace nocopy::broker
