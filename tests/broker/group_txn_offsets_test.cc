// Transactional offsets at the group coordinator (single node): kept
// pending in __consumer_offsets as a transactional batch of the producer,
// invisible to OffsetFetch (UNSTABLE_OFFSET_COMMIT with require_stable),
// applied by a COMMIT marker and dropped by an ABORT one; after a restart
// the replay keeps offsets without a marker pending and applies or drops
// those whose marker is in the log.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>

#include "broker_test_util.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

constexpr std::int16_t kUnstableOffsetCommit = 88;

class GroupTxnOffsetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.data_dir = dir.path();
    cfg.group_initial_rebalance_delay_ms = 0;
    node = std::make_unique<testing::Node>(cfg);
  }
  void restart() {
    node.reset();
    node = std::make_unique<testing::Node>(cfg);
  }
  std::int16_t txn_commit(std::int64_t pid, std::int16_t epoch, std::int64_t offset) {
    kafka::TxnOffsetCommitRequest r;
    r.transactional_id = "t";
    r.group_id = "g";
    r.producer_id = pid;
    r.producer_epoch = epoch;
    r.topics.emplace_back().name = "orders";
    r.topics[0].partitions.push_back({0, offset, -1, std::string("m")});
    std::promise<kafka::TxnOffsetCommitResponse> p;
    node->groups->txn_offset_commit(r, [&p](const kafka::TxnOffsetCommitResponse& res) { p.set_value(res); });
    return p.get_future().get().topics.at(0).partitions.at(0).error_code;
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

}  // namespace
}  // namespace nocopy::broker
