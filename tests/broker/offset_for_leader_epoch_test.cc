// OffsetForLeaderEpoch (API 23) through the real RequestHandler: where each
// leader epoch ends in a log whose batches were appended by two leaders.
#include <gtest/gtest.h>

#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;

class OffsetForLeaderEpochTest : public testing::NodeTest {};

void append(log::PartitionLog& log, std::int32_t epoch, int records) {
  log::BatchBuilder b;
  for (int i = 0; i < records; ++i) b.add(std::string("k"), std::string("v"));
  auto batch = b.build();
  ASSERT_TRUE(log.append(batch, log::PartitionLog::SyncBy::log, epoch).has_value());
}

kafka::OffsetForLeaderEpochResponse ask(Node& n, std::int16_t version, std::int32_t partition, std::int32_t epoch) {
  kafka::OffsetForLeaderEpochRequest req;
  req.replica_id = 1;
  req.topics.push_back({"t", {{partition, -1, epoch}}});
  return n.call<kafka::OffsetForLeaderEpochResponse>(version, req);
}

TEST_F(OffsetForLeaderEpochTest, AnswersWhereEachEpochEnds) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto& log = n.topics.find("t", 0)->log();
  append(log, 0, 3);  // offsets 0-2 in epoch 0
  append(log, 0, 2);  // 3-4
  append(log, 3, 4);  // 5-8 in epoch 3
  for (std::int16_t v : {0, 1, 2, 3, 4}) {
    auto r = ask(n, v, 0, 0);
    ASSERT_EQ(r.topics.size(), 1u) << v;
    ASSERT_EQ(r.topics[0].partitions.size(), 1u);
    const auto& p = r.topics[0].partitions[0];
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.end_offset, 5) << "epoch 0 ends where epoch 3 starts, v" << v;
    if (v >= 1) {
      EXPECT_EQ(p.leader_epoch, 0);
    }
  }
  // An epoch the log never saw: the largest one below it.
  auto mid = ask(n, 4, 0, 2).topics[0].partitions[0];
  EXPECT_EQ(mid.leader_epoch, 0);
  EXPECT_EQ(mid.end_offset, 5);
  // The latest epoch ends at the log end.
  auto last = ask(n, 4, 0, 3).topics[0].partitions[0];
  EXPECT_EQ(last.leader_epoch, 3);
  EXPECT_EQ(last.end_offset, 9);
  // An epoch newer than any this log saw: undefined, as Kafka answers.
  auto later = ask(n, 4, 0, 7).topics[0].partitions[0];
  EXPECT_EQ(later.leader_epoch, -1);
  EXPECT_EQ(later.end_offset, -1);
  // A partition that does not exist.
  EXPECT_EQ(ask(n, 4, 5, 0).topics[0].partitions[0].error_code, to_wire(ErrorCode::unknown_topic_or_partition));
}

TEST_F(OffsetForLeaderEpochTest, NeverReplicatedLogAnswersUndefined) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  log::BatchBuilder b;
  auto batch = b.add(std::string("k"), std::string("v")).build();
  ASSERT_EQ(n.topics.find("t", 0)->append(batch).error, 0);
  auto p = ask(n, 3, 0, 0).topics[0].partitions[0];
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.leader_epoch, -1);
  EXPECT_EQ(p.end_offset, -1);
}

}  // namespace
}  // namespace nocopy::broker
