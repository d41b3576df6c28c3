// Records refused one by one, as Kafka's LogValidator refuses them, through
// the RequestHandler: a record without a key in a compacted topic
// (INVALID_RECORD) and a timestamp out of range (INVALID_TIMESTAMP), each
// listed in record_errors (Produce v8+) with Kafka's messages; nothing of
// the batch is appended. And validate_records() alone on a compressed batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/record_validator.h"
#include "broker_test_util.h"
#include "io/clock.h"
#include "kafka/error_code.h"
#include "log/record_batch.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;
using testing::zstd_batch;

kafka::ProduceResponse::PartitionResponse produce(Node& n, std::int16_t v, const std::string& topic,
                                                  std::span<const std::byte> records) {
  auto res = n.call<kafka::ProduceResponse>(v, testing::produce_request(topic, 0, records));
  return res.responses.at(0).partitions.at(0);
}

class ProduceRecordErrorsTest : public testing::NodeTest {};

TEST_F(ProduceRecordErrorsTest, CompactedTopicRefusesRecordsWithoutKey) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("c", 1, {{"cleanup.policy", "compact"}}, false), 0);
  const std::int64_t now = io::wall_clock_ms();
  auto batch = log::BatchBuilder().timestamp(now).add("k", "1").add(std::nullopt, "2").add("k", "3")
                   .add(std::nullopt, "4").build();
  auto p = produce(n, 9, "c", batch);
  EXPECT_EQ(p.error_code, to_wire(ErrorCode::invalid_record));
  const std::string why = "Compacted topic cannot accept message without key in topic partition c-0.";
  ASSERT_EQ(p.record_errors.size(), 2u);
  EXPECT_EQ(p.record_errors[0].batch_index, 1);
  EXPECT_EQ(p.record_errors[0].batch_index_error_message, why);
  EXPECT_EQ(p.record_errors[1].batch_index, 3);
  EXPECT_EQ(p.error_message, "One or more records have been rejected due to 2 record errors in total, and only "
                             "showing the first three errors at most: [RecordError(batchIndex=1, message='" +
                                 why + "'), RecordError(batchIndex=3, message='" + why + "')]");
  auto old = produce(n, 7, "c", batch);  // before v8: the code alone
  EXPECT_EQ(old.error_code, to_wire(ErrorCode::invalid_record));
  EXPECT_EQ(n.topics.find("c", 0)->log_end_offset(), 0);
  // Keys everywhere: appended. A topic that does not compact takes null keys.
  auto keyed = log::BatchBuilder().timestamp(now).add("k", "1").build();
  EXPECT_EQ(produce(n, 9, "c", keyed).error_code, 0);
  ASSERT_EQ(n.topics.create("d", 1), 0);
  auto unkeyed = log::BatchBuilder().timestamp(now).add(std::nullopt, "1").build();
  EXPECT_EQ(produce(n, 9, "d", unkeyed).error_code, 0);
}

TEST_F(ProduceRecordErrorsTest, TimestampOutOfRangeIsInvalidTimestamp) {
  cfg.message_timestamp_before_max_ms = 86400000;  // one day back; one hour ahead (Kafka's default)
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1), 0);
  const std::int64_t now = io::wall_clock_ms();
  // Records 1 (two hours ahead) and 2 (two days back) are out of range.
  auto batch = log::BatchBuilder()
                   .timestamp(now)
                   .add("a", "1")
                   .add("b", "2", {}, 2 * 3600000)
                   .add("c", "3", {}, -2 * 86400000)
                   .build();
  auto p = produce(n, 8, "t", batch);
  EXPECT_EQ(p.error_code, to_wire(ErrorCode::invalid_timestamp));
  EXPECT_EQ(p.error_message, "One or more records have been rejected due to invalid timestamp");
  ASSERT_EQ(p.record_errors.size(), 2u);
  EXPECT_EQ(p.record_errors[0].batch_index, 1);
  const std::string& m = p.record_errors[0].batch_index_error_message.value_or("");
  EXPECT_EQ(m.rfind("Timestamp " + std::to_string(now + 2 * 3600000) + " of message with offset 1 is out of range. "
                    "The timestamp should be within [", 0), 0u) << m;
  EXPECT_EQ(p.record_errors[1].batch_index, 2);
  EXPECT_EQ(n.topics.find("t", 0)->log_end_offset(), 0);
  // Within the range (timestamps an hour back and half an hour ahead): appended.
  auto fine = log::BatchBuilder().timestamp(now - 3600000).add("a", "1").add("b", "2", {}, 5400000).build();
  EXPECT_EQ(produce(n, 8, "t", fine).error_code, 0);
}

TEST(RecordValidator, LooksInsideCompressedBatchesOnlyWhenItMust) {
  const std::int64_t now = 1'700'000'000'000;
  auto plain = log::BatchBuilder().timestamp(now).add(std::nullopt, "1").add("k", "2").build();
  const auto zs = zstd_batch(plain);
  RecordRules compacted;
  compacted.compacted = true;
  auto v = validate_records(zs, "c", 3, compacted, now);
  EXPECT_EQ(v.error, ErrorCode::invalid_record);
  ASSERT_EQ(v.errors.size(), 1u);
  EXPECT_EQ(v.errors[0].batch_index, 0);
  EXPECT_EQ(v.errors[0].message, "Compacted topic cannot accept message without key in topic partition c-3.");
  // Not compacted, timestamps in range: nothing to look at.
  EXPECT_EQ(validate_records(zs, "c", 3, RecordRules{}, now).error, ErrorCode::none);
  // The broker's clock two hours behind the records: INVALID_TIMESTAMP for both.
  auto late = validate_records(zs, "c", 3, RecordRules{}, now - 2 * 3600000);
  EXPECT_EQ(late.error, ErrorCode::invalid_timestamp);
  EXPECT_EQ(late.errors.size(), 2u);
  // A malformed records section is left to the log.
  auto cut = zs;
  cut.resize(log::kBatchHeaderSize + 2);
  log::store_be32(cut.data() + 8, static_cast<std::int32_t>(cut.size() - log::kLogOverhead));
  EXPECT_EQ(validate_records(cut, "c", 3, compacted, now).error, ErrorCode::none);
}

}  // namespace
}  // namespace nocopy::broker
