// Idempotent-producer state of a Partition: duplicates, gaps, and the state
// rebuilt from the log after a restart.
#include <gtest/gtest.h>

#include "kafka/error_code.h"
#include "broker/metrics.h"
#include "broker/partition.h"
#include "partition_fixture.h"
#include "log/record_batch.h"

namespace nocopy::broker {
namespace {

std::vector<std::byte> batch(std::int64_t pid, std::int16_t epoch, std::int32_t seq, int records) {
  log::BatchBuilder b;
  b.timestamp(1000).producer(pid, epoch, seq);
  for (int i = 0; i < records; ++i) b.add("k" + std::to_string(seq + i), "v");
  return b.build();
}

class PartitionProducerState : public testing::PartitionTest {};

TEST_F(PartitionProducerState, RetriedBatchIsStoredOnceEvenAcrossARestart) {
  {
    Partition p("t", 0, pdir, cfg, &metrics);
    auto b0 = batch(7, 0, 0, 3);
    auto r0 = p.append(b0);
    ASSERT_EQ(r0.error, kafka::to_wire(kafka::ErrorCode::none));
    EXPECT_EQ(r0.base_offset, 0);
    auto b1 = batch(7, 0, 3, 2);
    ASSERT_EQ(p.append(b1).error, kafka::to_wire(kafka::ErrorCode::none));
    auto again = batch(7, 0, 0, 3);  // the retry of the first batch
    auto rd = p.append(again);
    EXPECT_EQ(rd.error, kafka::to_wire(kafka::ErrorCode::none));
    EXPECT_EQ(rd.base_offset, 0);
    EXPECT_EQ(p.high_watermark(), 5);
    auto gap = batch(7, 0, 9, 1);
    EXPECT_EQ(p.append(gap).error, 45);  // OUT_OF_ORDER_SEQUENCE_NUMBER
    auto plain = batch(-1, -1, -1, 1);  // not idempotent: always appended
    EXPECT_EQ(p.append(plain).error, kafka::to_wire(kafka::ErrorCode::none));
    p.close();
  }
  Partition p("t", 0, pdir, cfg, &metrics);
  EXPECT_EQ(p.high_watermark(), 6);
  auto retry = batch(7, 0, 3, 2);
  auto r = p.append(retry);
  EXPECT_EQ(r.error, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(r.base_offset, 3) << "a retry after the restart must get its original offset";
  EXPECT_EQ(p.high_watermark(), 6) << "and must not be appended again";
  auto next = batch(7, 0, 5, 1);
  EXPECT_EQ(p.append(next).base_offset, 6);
  p.close();
}

TEST_F(PartitionProducerState, IdleProducersAreForgottenAtRetentionPasses) {
  {
    Partition p("t", 0, pdir, cfg, &metrics);  // default: a day
    auto b = batch(7, 0, 0, 1);
    ASSERT_EQ(p.append(b).error, 0);
    p.enforce_retention();
    EXPECT_EQ(p.producer_count(), 1u);
    p.close();
  }
  cfg.producer_id_expiration_ms = 0;  // everything idle is expired at the next pass
  Partition p("t", 0, pdir, cfg, &metrics);
  EXPECT_EQ(p.producer_count(), 1u) << "rebuilt from the log";
  p.enforce_retention();  // the rebuilt producer's clock starts here
  auto b1 = batch(7, 0, 1, 1);
  ASSERT_EQ(p.append(b1).error, 0);
  p.enforce_retention();
  EXPECT_EQ(p.producer_count(), 0u);
  // Unknown again: the next batch is accepted whatever its sequence.
  auto far = batch(7, 0, 40, 1);
  EXPECT_EQ(p.append(far).error, 0);
  EXPECT_EQ(p.high_watermark(), 3);
  p.close();
}

}  // namespace
}  // namespace nocopy::broker
