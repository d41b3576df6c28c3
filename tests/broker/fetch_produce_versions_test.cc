// Fetch v12-v18 and Produce v8-v13 through the real RequestHandler: topics
// by id (UNKNOWN_TOPIC_ID for an id no topic has), diverging_epoch for a
// last_fetched_epoch that ends earlier in this log, the leader-epoch checks
// (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH), the current leader and its
// endpoint in NOT_LEADER_OR_FOLLOWER answers (KIP-951) -- from a real
// ReplicaManager without fetchers, told the partitions' states by hand --
// and the reason an INVALID_RECORD batch was refused.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "replicas_fixture.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;
using testing::produce_request;

std::vector<std::byte> batch_of(int records) {
  log::BatchBuilder b;
  for (int i = 0; i < records; ++i) b.add(std::string("k"), std::string("v"));
  auto x = b.build();
  return {x.begin(), x.end()};
}

void append(log::PartitionLog& log, std::int32_t epoch, int records) {
  auto batch = batch_of(records);
  ASSERT_TRUE(log.append(batch, log::PartitionLog::SyncBy::log, epoch).has_value());
}

kafka::FetchRequest fetch_req(const std::string& name, const kafka::Uuid& id, std::int32_t partition,
                              std::int64_t offset, std::int32_t last_fetched_epoch = -1,
                              std::int32_t current_leader_epoch = -1) {
  kafka::FetchRequest r;
  r.max_wait_ms = 0;
  r.min_bytes = 0;
  auto& t = r.topics.emplace_back();
  t.topic = name;
  t.topic_id = id;
  t.partitions.push_back({.partition = partition,
                          .current_leader_epoch = current_leader_epoch,
                          .fetch_offset = offset,
                          .last_fetched_epoch = last_fetched_epoch,
                          .partition_max_bytes = 1 << 20});
  return r;
}

class FetchProduceVersionsTest : public testing::NodeTest {
 protected:
  FetchProduceVersionsTest() { cfg.node_id = 1; }
};

TEST_F(FetchProduceVersionsTest, TopicsById) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  const kafka::Uuid id = n.topics.find("t")->topic_id;
  kafka::Uuid unknown = id;
  unknown[0] ^= std::byte{0xff};
  const auto records = batch_of(3);

  auto pr = n.call<kafka::ProduceResponse>(13, produce_request("", 0, records, id));
  ASSERT_EQ(pr.responses.size(), 1u);
  EXPECT_EQ(pr.responses[0].topic_id, id);
  EXPECT_EQ(pr.responses[0].partitions[0].error_code, 0);
  EXPECT_EQ(pr.responses[0].partitions[0].base_offset, 0);
  auto bad = n.call<kafka::ProduceResponse>(13, produce_request("", 0, records, unknown));
  ASSERT_EQ(bad.responses.size(), 1u);
  EXPECT_EQ(bad.responses[0].topic_id, unknown);
  EXPECT_EQ(bad.responses[0].partitions[0].error_code, to_wire(ErrorCode::unknown_topic_id));

  for (std::int16_t v : {13, 14, 15, 16, 17, 18}) {
    SCOPED_TRACE("v" + std::to_string(v));
    auto fr = n.call<kafka::FetchResponse>(v, fetch_req("", id, 0, 0));
    ASSERT_EQ(fr.responses.size(), 1u);
    EXPECT_EQ(fr.responses[0].topic_id, id);
    const auto& p = fr.responses[0].partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.high_watermark, 3);
    EXPECT_EQ(p.records.bytes.size(), records.size());
    auto miss = n.call<kafka::FetchResponse>(v, fetch_req("", unknown, 0, 0));
    ASSERT_EQ(miss.responses.size(), 1u);
    EXPECT_EQ(miss.responses[0].topic_id, unknown);
    EXPECT_EQ(miss.responses[0].partitions.at(0).error_code, to_wire(ErrorCode::unknown_topic_id));
  }
  // v12 names topics as before.
  auto by_name = n.call<kafka::FetchResponse>(12, fetch_req("t", {}, 0, 0));
  ASSERT_EQ(by_name.responses.size(), 1u);
  EXPECT_EQ(by_name.responses[0].topic, "t");
  EXPECT_EQ(by_name.responses[0].partitions.at(0).records.bytes.size(), records.size());
}

TEST_F(FetchProduceVersionsTest, DivergingEpoch) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto& log = n.topics.find("t", 0)->log();
  append(log, 0, 5);  // offsets 0-4 in epoch 0
  append(log, 3, 4);  // 5-8 in epoch 3
  auto part = [&](std::int64_t offset, std::int32_t last_fetched_epoch) {
    auto r = n.call<kafka::FetchResponse>(12, fetch_req("t", {}, 0, offset, last_fetched_epoch));
    EXPECT_EQ(r.responses.size(), 1u);
    return r.responses.at(0).partitions.at(0);
  };
  // The fetcher went on in epoch 2, which this log never had: epoch 0 ends at 5.
  auto p = part(7, 2);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.diverging_epoch.epoch, 0);
  EXPECT_EQ(p.diverging_epoch.end_offset, 5);
  EXPECT_EQ(p.records.bytes.size(), 0u);
  // Its log runs past this one's end in the same epoch (before the range check).
  p = part(12, 3);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.diverging_epoch.epoch, 3);
  EXPECT_EQ(p.diverging_epoch.end_offset, 9);
  // Consistent with this log: records, no divergence.
  p = part(5, 0);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.diverging_epoch.epoch, -1);
  EXPECT_GT(p.records.bytes.size(), 0u);
  p = part(9, 3);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(p.diverging_epoch.epoch, -1);
  // An epoch newer than any here is undefined: the range check decides.
  p = part(2, 7);
  EXPECT_EQ(p.diverging_epoch.epoch, -1);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(part(20, 7).error_code, to_wire(ErrorCode::offset_out_of_range));
}

TEST_F(FetchProduceVersionsTest, LeaderEpochsAndCurrentLeader) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 2), 0);
  testing::NoSink sink;
  auto rm = testing::replicas_over(n, sink);
  rm->brokers({{1, "b1", 9092, ""}, {2, "b2", 9093, "r2"}});
  rm->apply("t", 0, {1, 5, 5, {1, 2}, {1, 2}});  // led here in epoch 5
  rm->apply("t", 1, {2, 6, 6, {1, 2}, {1, 2}});  // led by broker 2 in epoch 6
  n.handler.set_replicas(rm.get());

  const kafka::Uuid id = n.topics.find("t")->topic_id;
  auto fetch0 = [&](std::int16_t v, std::int32_t epoch) {
    return n.call<kafka::FetchResponse>(v, fetch_req("t", id, 0, 0, -1, epoch));
  };
  // An older epoch is fenced and told the current one; a newer one is unknown here.
  auto fenced = fetch0(16, 3);
  const auto& f = fenced.responses.at(0).partitions.at(0);
  EXPECT_EQ(f.error_code, to_wire(ErrorCode::fenced_leader_epoch));
  EXPECT_EQ(f.current_leader.leader_id, 1);
  EXPECT_EQ(f.current_leader.leader_epoch, 5);
  ASSERT_EQ(fenced.node_endpoints.size(), 1u);
  EXPECT_EQ(fenced.node_endpoints[0].node_id, 1);
  EXPECT_EQ(fenced.node_endpoints[0].host, "b1");
  EXPECT_EQ(fenced.node_endpoints[0].port, 9092);
  EXPECT_FALSE(fenced.node_endpoints[0].rack.has_value());
  EXPECT_EQ(fetch0(16, 7).responses.at(0).partitions.at(0).error_code, to_wire(ErrorCode::unknown_leader_epoch));
  EXPECT_EQ(fetch0(16, 5).responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(fetch0(11, 3).responses.at(0).partitions.at(0).error_code, to_wire(ErrorCode::fenced_leader_epoch));

  // Led elsewhere: NOT_LEADER_OR_FOLLOWER naming broker 2, epoch 6, and (v16+) its endpoint.
  for (std::int16_t v : {12, 16, 18}) {
    SCOPED_TRACE("fetch v" + std::to_string(v));
    auto r = n.call<kafka::FetchResponse>(v, fetch_req("t", id, 1, 0));
    const auto& p = r.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, to_wire(ErrorCode::not_leader_or_follower));
    EXPECT_EQ(p.current_leader.leader_id, 2);
    EXPECT_EQ(p.current_leader.leader_epoch, 6);
    if (v >= 16) {
      ASSERT_EQ(r.node_endpoints.size(), 1u);
      EXPECT_EQ(r.node_endpoints[0].node_id, 2);
      EXPECT_EQ(r.node_endpoints[0].host, "b2");
      EXPECT_EQ(r.node_endpoints[0].port, 9093);
      EXPECT_EQ(r.node_endpoints[0].rack, "r2");
    } else {
      EXPECT_TRUE(r.node_endpoints.empty());
    }
  }
  const auto records = batch_of(2);
  for (std::int16_t v : {9, 10, 13}) {
    SCOPED_TRACE("produce v" + std::to_string(v));
    auto r = n.call<kafka::ProduceResponse>(v, produce_request("t", 1, records, id));
    const auto& p = r.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, to_wire(ErrorCode::not_leader_or_follower));
    EXPECT_EQ(p.current_leader.leader_id, v >= 10 ? 2 : -1);
    EXPECT_EQ(p.current_leader.leader_epoch, v >= 10 ? 6 : -1);
    EXPECT_EQ(r.node_endpoints.size(), v >= 10 ? 1u : 0u);
  }
  n.handler.set_replicas(nullptr);
}

TEST_F(FetchProduceVersionsTest, InvalidRecordSaysWhy) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  auto records = batch_of(1);
  records[16] = std::byte{1};  // magic 1: not a RecordBatch v2
  auto r = n.call<kafka::ProduceResponse>(8, produce_request("t", 0, records));
  const auto& p = r.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, to_wire(ErrorCode::invalid_record));
  ASSERT_TRUE(p.error_message.has_value());
  EXPECT_NE(p.error_message->find("magic 1"), std::string::npos) << *p.error_message;
  EXPECT_TRUE(p.record_errors.empty());  // the batch as a whole, not one record
  auto old = n.call<kafka::ProduceResponse>(7, produce_request("t", 0, records));
  EXPECT_EQ(old.responses.at(0).partitions.at(0).error_code, to_wire(ErrorCode::invalid_record));
}

}  // namespace
}  // namespace nocopy::broker
