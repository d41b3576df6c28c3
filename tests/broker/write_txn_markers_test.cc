// WriteTxnMarkers: markers written straight into this broker's partitions
// (how Admin.abortTransaction ends a hanging transaction, and how a
// cluster's coordinators end transactional offsets in __consumer_offsets),
// per-partition errors, at v1 and v2 (v0, removed in Kafka 4.0, is not
// advertised).
#include <gtest/gtest.h>

#include "broker/groups_service.h"
#include "broker/partition.h"
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

kafka::WriteTxnMarkersRequest::Marker marker(std::int64_t pid, std::int16_t epoch, bool commit,
                                             std::vector<std::pair<std::string, std::vector<std::int32_t>>> tps) {
  kafka::WriteTxnMarkersRequest::Marker m;
  m.producer_id = pid;
  m.producer_epoch = epoch;
  m.transaction_result = commit;
  m.coordinator_epoch = 0;
  for (auto& [name, parts] : tps) {
    auto& t = m.topics.emplace_back();
    t.name = name;
    t.partition_indexes = parts;
  }
  return m;
}

std::int16_t error_of(const kafka::WriteTxnMarkersResponse& r, std::size_t m, const std::string& topic,
                      std::int32_t partition) {
  for (const auto& t : r.markers.at(m).topics)
    if (t.name == topic)
      for (const auto& p : t.partitions)
        if (p.partition_index == partition) return p.error_code;
  ADD_FAILURE() << "no result for " << topic << "-" << partition;
  return -1;
}

class WriteTxnMarkers : public testing::NodeTest {};

TEST_F(WriteTxnMarkers, AbortsAHangingTransactionAndAnswersEachPartition) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 2), 0);
  auto p0 = n.topics.find("t", 0);
  auto batch = log::BatchBuilder().timestamp(1).producer(7, 3, 0).attributes(log::kAttrTransactional).add("k", "v")
                   .build();
  ASSERT_EQ(p0->append(batch).error, 0);  // producer 7 opens a transaction nobody ends
  ASSERT_EQ(p0->last_stable_offset(), 0);

  // Producer 8 has transactional offsets of group "g" pending in __consumer_offsets-0.
  kafka::TxnOffsetCommitRequest offsets;
  offsets.group_id = "g";
  offsets.producer_id = 8;
  offsets.producer_epoch = 1;
  offsets.topics.emplace_back().name = "t";
  offsets.topics[0].partitions.push_back({1, 42, -1, std::nullopt});
  n.groups->txn_offset_commit(offsets, 4, [](const kafka::TxnOffsetCommitResponse& r) {
    EXPECT_EQ(r.topics.at(0).partitions.at(0).error_code, 0);
  });
  for (std::int16_t v : {1, 2}) {
    SCOPED_TRACE("v" + std::to_string(v));
    kafka::WriteTxnMarkersRequest req;
    req.markers.push_back(marker(7, 3, /*commit=*/false, {{"t", {0, 9}}, {"missing", {0}}, {kTxnStateTopic, {0}}}));
    req.markers.push_back(marker(8, 1, /*commit=*/true, {{"t", {1}}, {kOffsetsTopic, {0}}}));
    auto r = n.call<kafka::WriteTxnMarkersResponse>(v, req);
    ASSERT_EQ(r.markers.size(), 2u);
    EXPECT_EQ(r.markers[0].producer_id, 7);
    EXPECT_EQ(r.markers[1].producer_id, 8);
    EXPECT_EQ(error_of(r, 0, "t", 0), 0);
    EXPECT_EQ(error_of(r, 0, "t", 9), to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_EQ(error_of(r, 0, "missing", 0), to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_EQ(error_of(r, 0, kTxnStateTopic, 0), to_wire(ErrorCode::invalid_topic_exception));
    EXPECT_EQ(error_of(r, 1, "t", 1), 0);
    EXPECT_EQ(error_of(r, 1, kOffsetsTopic, 0), 0);
  }
  // The COMMIT marker in __consumer_offsets made producer 8's offsets the group's.
  kafka::OffsetFetchRequest fetch;
  fetch.group_id = "g";
  fetch.require_stable = true;
  fetch.topics = std::vector<kafka::OffsetFetchRequest::Topic>{{.name = "t", .partition_indexes = {1}}};
  auto fetched = n.call<kafka::OffsetFetchResponse>(7, fetch);
  EXPECT_EQ(fetched.topics.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(fetched.topics.at(0).partitions.at(0).committed_offset, 42);
  // The abort ended the transaction: the LSO is the end, the data is listed
  // as aborted for read_committed fetches.
  EXPECT_EQ(p0->last_stable_offset(), p0->high_watermark());
  auto aborted = p0->aborted_transactions(0, p0->high_watermark());
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0].producer_id, 7);
  EXPECT_EQ(aborted[0].first_offset, 0);
  // A marker of an epoch older than the partition knows is refused.
  kafka::WriteTxnMarkersRequest stale;
  stale.markers.push_back(marker(7, 2, false, {{"t", {0}}}));
  auto r = n.call<kafka::WriteTxnMarkersResponse>(1, stale);
  EXPECT_EQ(error_of(r, 0, "t", 0), to_wire(ErrorCode::invalid_producer_epoch));
}

// A coordinator that lost its __transaction_state partition to a newer
// leader (an older coordinator epoch than the producer's last marker) is
// fenced; the current coordinator's markers go on.
TEST_F(WriteTxnMarkers, OlderCoordinatorEpochIsFenced) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto with_coordinator_epoch = [](std::int32_t coordinator_epoch) {
    kafka::WriteTxnMarkersRequest req;
    req.markers.push_back(marker(7, 3, /*commit=*/true, {{"t", {0}}}));
    req.markers[0].coordinator_epoch = coordinator_epoch;
    return req;
  };
  EXPECT_EQ(error_of(n.call<kafka::WriteTxnMarkersResponse>(1, with_coordinator_epoch(5)), 0, "t", 0), 0);
  EXPECT_EQ(error_of(n.call<kafka::WriteTxnMarkersResponse>(1, with_coordinator_epoch(4)), 0, "t", 0),
            to_wire(ErrorCode::transaction_coordinator_fenced));
  EXPECT_EQ(error_of(n.call<kafka::WriteTxnMarkersResponse>(1, with_coordinator_epoch(5)), 0, "t", 0), 0);
  EXPECT_EQ(error_of(n.call<kafka::WriteTxnMarkersResponse>(1, with_coordinator_epoch(6)), 0, "t", 0), 0);
  EXPECT_EQ(n.topics.find("t", 0)->log_end_offset(), 3);
}

}  // namespace
}  // namespace nocopy::broker
