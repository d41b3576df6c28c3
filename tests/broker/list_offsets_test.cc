// ListOffsets through the real RequestHandler at v1-v11: the record found
// by timestamp answers its own timestamp and offset, MAX_TIMESTAMP (-3)
// the first record with the largest timestamp (also inside a compressed
// batch), the special timestamps of tiered storage, the versions that may
// ask for them, read_committed's last stable offset, a partition named
// twice (INVALID_REQUEST), and a new leader whose high watermark is not
// known yet (OFFSET_NOT_AVAILABLE).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "kafka/list_offsets.h"
#include "log/record_batch.h"
#include "replicas_fixture.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;
using testing::zstd_batch;

class ListOffsetsTest : public testing::NodeTest {};

kafka::ListOffsetsResponse::Partition list(Node& n, std::int16_t v, const std::string& topic, std::int64_t ts,
                                           std::int8_t isolation = 0) {
  kafka::ListOffsetsRequest req;
  req.isolation_level = isolation;
  req.timeout_ms = 1000;
  req.topics = {{topic, {{.partition_index = 0, .timestamp = ts}}}};
  auto res = n.call<kafka::ListOffsetsResponse>(v, req);
  return res.topics.at(0).partitions.at(0);
}

TEST_F(ListOffsetsTest, TimestampLookupAnswersTheRecordFound) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto part = n.topics.find("t", 0);
  // offsets 0-2 at 1000, 1005, 1010; offsets 3-4 at 2000, 2007
  auto b1 = log::BatchBuilder().timestamp(1000).add("a", "1", {}, 0).add("b", "2", {}, 5).add("c", "3", {}, 10).build();
  ASSERT_EQ(part->append(b1).error, 0);
  auto b2 = log::BatchBuilder().timestamp(2000).add("d", "4", {}, 0).add("e", "5", {}, 7).build();
  ASSERT_EQ(part->append(b2).error, 0);
  for (std::int16_t v = 1; v <= 11; ++v) {
    SCOPED_TRACE("v" + std::to_string(v));
    auto p = list(n, v, "t", 1003);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.offset, 1);
    EXPECT_EQ(p.timestamp, 1005);  // the record's, not the one asked for
    EXPECT_EQ(p.leader_epoch, -1);
    p = list(n, v, "t", 1011);
    EXPECT_EQ(p.offset, 3);
    EXPECT_EQ(p.timestamp, 2000);
    p = list(n, v, "t", 0);
    EXPECT_EQ(p.offset, 0);
    EXPECT_EQ(p.timestamp, 1000);
    p = list(n, v, "t", 2008);
    EXPECT_EQ(p.offset, -1);
    EXPECT_EQ(p.timestamp, -1);
    p = list(n, v, "t", kafka::kLatestTimestamp);
    EXPECT_EQ(p.offset, 5);
    EXPECT_EQ(p.timestamp, -1);
    p = list(n, v, "t", kafka::kEarliestTimestamp);
    EXPECT_EQ(p.offset, 0);
    EXPECT_EQ(p.timestamp, -1);
    p = list(n, v, "missing", 0);
    EXPECT_EQ(p.error_code, to_wire(ErrorCode::unknown_topic_or_partition));
  }
}

TEST_F(ListOffsetsTest, MaxTimestampIsTheFirstRecordWithTheLargestTimestamp) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto part = n.topics.find("t", 0);
  EXPECT_EQ(list(n, 7, "t", kafka::kMaxTimestamp).offset, -1);  // empty log
  EXPECT_EQ(list(n, 7, "t", kafka::kMaxTimestamp).timestamp, -1);
  // offsets 0-2 at 1000, 3000, 1500; offsets 3-4 at 2000, 3000
  auto b1 = log::BatchBuilder().timestamp(1000).add("a", "1", {}, 0).add("b", "2", {}, 2000).add("c", "3", {}, 500).build();
  ASSERT_EQ(part->append(b1).error, 0);
  auto b2 = log::BatchBuilder().timestamp(2000).add("d", "4", {}, 0).add("e", "5", {}, 1000).build();
  ASSERT_EQ(part->append(b2).error, 0);
  for (std::int16_t v = 7; v <= 11; ++v) {
    auto p = list(n, v, "t", kafka::kMaxTimestamp);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.offset, 1);
    EXPECT_EQ(p.timestamp, 3000);
  }
  // A compressed batch with a larger maximum in its middle (offsets 5-54:
  // 5000 + 10 i, except offsets 25 and 35 at 9000).
  log::BatchBuilder b;
  b.timestamp(5000);
  for (int i = 0; i < 50; ++i) b.add("k" + std::to_string(i), std::string(40, 'v'), {}, i == 20 || i == 30 ? 4000 : 10 * i);
  auto z = zstd_batch(b.build());
  ASSERT_EQ(part->append(z).error, 0);
  auto p = list(n, 8, "t", kafka::kMaxTimestamp);
  EXPECT_EQ(p.offset, 25);
  EXPECT_EQ(p.timestamp, 9000);
  p = list(n, 8, "t", 5015);  // inside the compressed batch too
  EXPECT_EQ(p.offset, 7);
  EXPECT_EQ(p.timestamp, 5020);
}

TEST_F(ListOffsetsTest, TieredStorageTimestampsAndTheirVersions) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto part = n.topics.find("t", 0);
  auto b = log::BatchBuilder().timestamp(1000).add("a", "1").add("b", "2").build();
  ASSERT_EQ(part->append(b).error, 0);
  struct Case {
    std::int64_t ts;
    std::int16_t first_version;
    std::int64_t offset;
  };
  for (const Case& c : {Case{kafka::kEarliestLocalTimestamp, 8, 0}, Case{kafka::kLatestTieredTimestamp, 9, -1},
                        Case{kafka::kEarliestPendingUploadTimestamp, 11, -1}}) {
    for (std::int16_t v = 1; v <= 11; ++v) {
      SCOPED_TRACE("ts " + std::to_string(c.ts) + " v" + std::to_string(v));
      auto p = list(n, v, "t", c.ts);
      if (v < c.first_version) {
        EXPECT_EQ(p.error_code, to_wire(ErrorCode::unsupported_version));
        continue;
      }
      EXPECT_EQ(p.error_code, 0);
      EXPECT_EQ(p.offset, c.offset);
      EXPECT_EQ(p.timestamp, -1);
      EXPECT_EQ(p.leader_epoch, -1);
    }
  }
}

// An open transaction holds the last stable offset: read_committed's latest
// is its first offset, and a record at or past it is not found by time.
TEST_F(ListOffsetsTest, ReadCommittedStopsAtTheLastStableOffset) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto part = n.topics.find("t", 0);
  auto plain = log::BatchBuilder().timestamp(1000).add("a", "1").build();
  ASSERT_EQ(part->append(plain).error, 0);
  auto txn = log::BatchBuilder().timestamp(2000).producer(7, 0, 0).attributes(0x10).add("b", "2").build();
  ASSERT_EQ(part->append(txn).error, 0);  // offset 1, open
  ASSERT_EQ(part->last_stable_offset(), 1);
  EXPECT_EQ(list(n, 2, "t", kafka::kLatestTimestamp, 1).offset, 1);
  EXPECT_EQ(list(n, 2, "t", kafka::kLatestTimestamp, 0).offset, 2);
  EXPECT_EQ(list(n, 2, "t", 1500, 1).offset, -1);
  EXPECT_EQ(list(n, 2, "t", 1500, 0).offset, 1);
  EXPECT_EQ(list(n, 7, "t", kafka::kMaxTimestamp, 1).offset, -1);
  EXPECT_EQ(list(n, 7, "t", kafka::kMaxTimestamp, 0).offset, 1);
}

// Kafka answers every occurrence of a partition named twice INVALID_REQUEST;
// the other partitions of the request are answered as usual.
TEST_F(ListOffsetsTest, PartitionNamedTwiceIsInvalidRequest) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 2), 0);
  auto batch = log::BatchBuilder().timestamp(1000).add("a", "1").build();
  ASSERT_EQ(n.topics.find("t", 1)->append(batch).error, 0);
  kafka::ListOffsetsRequest req;
  req.timeout_ms = 1000;
  req.topics = {{"t", {{.partition_index = 0, .timestamp = -1}, {.partition_index = 1, .timestamp = -1}}},
                {"t", {{.partition_index = 0, .timestamp = -2}}}};
  auto res = n.call<kafka::ListOffsetsResponse>(11, req);
  ASSERT_EQ(res.topics.size(), 2u);
  const auto& first = res.topics[0].partitions;
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].error_code, to_wire(ErrorCode::invalid_request));
  EXPECT_EQ(first[0].offset, -1);
  EXPECT_EQ(first[1].error_code, 0);
  EXPECT_EQ(first[1].offset, 1);
  EXPECT_EQ(res.topics[1].partitions.at(0).error_code, to_wire(ErrorCode::invalid_request));
}

// A broker elected leader with records its followers have not confirmed:
// its high watermark lies below its log end at the election until they
// fetch. Clients asking for the latest offset, or for a record at or above
// the high watermark, get OFFSET_NOT_AVAILABLE (retriable) rather than an
// offset that may go back; the earliest offset and followers' requests
// (replica_id >= 0) are answered.
TEST_F(ListOffsetsTest, NewLeaderWithoutHighWatermarkIsOffsetNotAvailable) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto part = n.topics.find("t", 0);
  auto batch = log::BatchBuilder().timestamp(1000).add("a", "1").add("b", "2", {}, 5).build();
  ASSERT_EQ(part->append(batch).error, 0);
  testing::NoSink sink;
  auto rm = testing::replicas_over(n, sink);
  rm->brokers({{1, "b1", 9092, ""}, {2, "b2", 9093, ""}});
  rm->apply("t", 0, {1, 5, 5, {1, 2}, {1, 2}});  // led here from epoch 5, log end 2
  n.handler.set_replicas(rm.get());
  ASSERT_EQ(part->high_watermark(), 0);

  const auto not_available = to_wire(ErrorCode::offset_not_available);
  for (std::int16_t v : {1, 4, 11}) {
    SCOPED_TRACE("v" + std::to_string(v));
    EXPECT_EQ(list(n, v, "t", -1).error_code, not_available);
    EXPECT_EQ(list(n, v, "t", 1000).error_code, not_available);  // found at offset 0, not below the HW
    auto earliest = list(n, v, "t", -2);
    EXPECT_EQ(earliest.error_code, 0);
    EXPECT_EQ(earliest.offset, 0);
  }
  EXPECT_EQ(list(n, 11, "t", 9999).error_code, 0);  // no record found: -1/-1
  kafka::ListOffsetsRequest follower;
  follower.replica_id = 2;
  follower.topics = {{"t", {{.partition_index = 0, .timestamp = -1}}}};
  auto f = n.call<kafka::ListOffsetsResponse>(11, follower).topics.at(0).partitions.at(0);
  EXPECT_EQ(f.error_code, 0);
  EXPECT_EQ(f.offset, 0);

  // The follower catches up: the high watermark reaches the epoch's start.
  rm->on_follower_fetch("t", 0, 2, 2);
  ASSERT_EQ(part->high_watermark(), 2);
  auto latest = list(n, 11, "t", -1);
  EXPECT_EQ(latest.error_code, 0);
  EXPECT_EQ(latest.offset, 2);
  EXPECT_EQ(latest.leader_epoch, 5);
  EXPECT_EQ(list(n, 11, "t", 1000).offset, 0);
  n.handler.set_replicas(nullptr);
}

}  // namespace
}  // namespace nocopy::broker
