// Transactions on a Partition: the LSO, markers, read_committed reads cut at
// the LSO, fencing by a marker's epoch, and the state rebuilt after a crash.
#include <gtest/gtest.h>

#include <filesystem>

#include "broker/metrics.h"
#include "broker/partition.h"
#include "partition_fixture.h"
#include "kafka/error_code.h"
#include "log/control_batch.h"
#include "log/record_batch.h"

namespace nocopy::broker {
namespace {

std::vector<std::byte> txn_batch(std::int64_t pid, std::int16_t epoch, std::int32_t seq, int records = 1) {
  log::BatchBuilder b;
  b.timestamp(1000).producer(pid, epoch, seq).attributes(log::kAttrTransactional);
  for (int i = 0; i < records; ++i) b.add("k" + std::to_string(seq + i), "value");
  return b.build();
}

std::uint64_t batch_size() { return txn_batch(1, 0, 0).size(); }

class PartitionTxn : public testing::PartitionTest {};

TEST_F(PartitionTxn, LsoStopsAtTheOpenTransactionAndMarkersMoveIt) {
  {
    Partition p("t", 0, pdir, cfg, &metrics);
    auto plain = log::BatchBuilder().timestamp(1).add("a", "b").build();
    ASSERT_EQ(p.append(plain).error, 0);  // offset 0
    auto a0 = txn_batch(10, 0, 0);
    ASSERT_EQ(p.append(a0).error, 0);  // offset 1: producer 10 opens
    auto b0 = txn_batch(11, 0, 0);
    ASSERT_EQ(p.append(b0).error, 0);  // offset 2: producer 11 opens
    auto a1 = txn_batch(10, 0, 1);
    ASSERT_EQ(p.append(a1).error, 0);  // offset 3
    EXPECT_EQ(p.high_watermark(), 4);
    EXPECT_EQ(p.last_stable_offset(), 1);
    // read_committed: only offset 0.
    auto rc = p.read_committed(0, 1 << 20);
    EXPECT_EQ(rc.bytes, plain.size());
    EXPECT_TRUE(p.read_committed(1, 1 << 20).regions.empty());
    // read_uncommitted: everything.
    EXPECT_EQ(p.read(0, 1 << 20).bytes, plain.size() + 3 * batch_size());

    ASSERT_EQ(p.append_marker(10, 0, /*commit=*/false, 0), 0);  // offset 4: abort producer 10
    EXPECT_EQ(p.last_stable_offset(), 2);
    auto aborted = p.aborted_transactions(0, p.last_stable_offset());
    ASSERT_EQ(aborted.size(), 1u);
    EXPECT_EQ(aborted[0].producer_id, 10);
    EXPECT_EQ(aborted[0].first_offset, 1);
    EXPECT_EQ(aborted[0].last_offset, 4);
    EXPECT_EQ(p.read_committed(0, 1 << 20).bytes, plain.size() + batch_size());
    ASSERT_EQ(p.append_marker(11, 0, /*commit=*/true, 0), 0);  // offset 5
    EXPECT_EQ(p.last_stable_offset(), 6);
    EXPECT_EQ(p.read_committed(0, 1 << 20).bytes, p.read(0, 1 << 20).bytes);
    // A client cannot send a control batch.
    auto forged = log::build_control_batch(10, 0, {log::ControlType::commit, 0}, 0);
    EXPECT_EQ(p.append(forged).error, kafka::to_wire(kafka::ErrorCode::invalid_record));
    // A transactional batch needs a producer id.
    auto anon = txn_batch(-1, -1, -1);
    EXPECT_EQ(p.append(anon).error, kafka::to_wire(kafka::ErrorCode::invalid_record));
    // A marker of a newer epoch fences the older epoch's batches.
    ASSERT_EQ(p.append_marker(11, 1, false, 0), 0);
    auto zombie = txn_batch(11, 0, 1);
    EXPECT_EQ(p.append(zombie).error, kafka::to_wire(kafka::ErrorCode::invalid_producer_epoch));
    EXPECT_EQ(p.append_marker(11, 0, false, 0), kafka::to_wire(kafka::ErrorCode::invalid_producer_epoch));
    auto fresh = txn_batch(11, 1, 0);
    EXPECT_EQ(p.append(fresh).error, 0);  // offset 7: the new epoch starts at sequence 0
    EXPECT_EQ(p.last_stable_offset(), 7);
    // No close(): a crash. The open transaction and the abort come back.
  }
  Partition p("t", 0, pdir, cfg, &metrics);
  EXPECT_EQ(p.high_watermark(), 8);
  EXPECT_EQ(p.last_stable_offset(), 7);
  EXPECT_EQ(p.aborted_transactions(0, 8).size(), 1u);
  auto open = p.open_transactions();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open.begin()->first, 11);
  // The fenced epoch stays fenced after the restart.
  auto zombie = txn_batch(11, 0, 2);
  EXPECT_EQ(p.append(zombie).error, kafka::to_wire(kafka::ErrorCode::invalid_producer_epoch));
  ASSERT_EQ(p.append_marker(11, 1, true, 0), 0);
  EXPECT_EQ(p.last_stable_offset(), p.high_watermark());
}

TEST_F(PartitionTxn, AMissingIndexEntryIsRebuiltFromTheMarker) {
  {
    Partition p("t", 0, pdir, cfg, &metrics);
    auto a = txn_batch(3, 0, 0, 2);
    ASSERT_EQ(p.append(a).error, 0);
    ASSERT_EQ(p.append_marker(3, 0, false, 0), 0);
    p.close();
  }
  std::filesystem::remove(pdir / "00000000000000000000.txnindex");
  Partition p("t", 0, pdir, cfg, &metrics);
  auto aborted = p.aborted_transactions(0, 100);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0].first_offset, 0);
  EXPECT_EQ(aborted[0].last_offset, 2);
  EXPECT_TRUE(std::filesystem::exists(pdir / "00000000000000000000.txnindex"));
}

}  // namespace
}  // namespace nocopy::broker
