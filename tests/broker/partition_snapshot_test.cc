// Producer snapshots: the producer and transaction state of a partition is
// rebuilt exactly after a restart, however far behind the log end an open
// transaction began -- from a snapshot plus the batches after it, or from
// the whole log when no usable snapshot exists.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "broker/metrics.h"
#include "broker/partition.h"
#include "broker/producer_snapshot.h"
#include "log/crc32c.h"
#include "partition_fixture.h"
#include "log/record_batch.h"

namespace nocopy::broker {
namespace {

constexpr int kRecordsPerBatch = 1000;
constexpr int kFillerBatches = 210;  // 210,000 offsets of plain data

std::vector<std::byte> txn_batch(std::int64_t pid, std::int16_t epoch, std::int32_t seq) {
  return log::BatchBuilder().timestamp(1000).producer(pid, epoch, seq).attributes(log::kAttrTransactional)
      .add("k", "v").build();
}

// Appends kFillerBatches batches of kRecordsPerBatch records without a producer.
void fill(Partition& p) {
  log::BatchBuilder b;
  b.timestamp(1);
  for (int i = 0; i < kRecordsPerBatch; ++i) b.add(std::nullopt, "v");
  const std::vector<std::byte> filler = b.build();
  for (int i = 0; i < kFillerBatches; ++i) {
    std::vector<std::byte> copy = filler;
    ASSERT_EQ(p.append(copy).error, 0);
  }
}

class PartitionSnapshotTest : public testing::PartitionTest {};

TEST_F(PartitionSnapshotTest, AnOpenTransactionFarBehindTheLogEndSurvivesEveryKindOfRestart) {
  std::vector<std::byte> idem = log::BatchBuilder().timestamp(1).producer(30, 0, 0).add("i", "x").build();
  std::int64_t idem_offset = -1;
  {
    auto p = open();
    auto t = txn_batch(20, 0, 0);
    ASSERT_EQ(p->append(t).error, 0);  // offset 0: producer 20's transaction opens
    std::vector<std::byte> copy = idem;
    idem_offset = p->append(copy).base_offset;
    fill(*p);
    ASSERT_GT(p->high_watermark(), 200000);
    EXPECT_EQ(p->last_stable_offset(), 0);
    // No close() and no snapshot: a crash.
  }
  ASSERT_TRUE(ProducerSnapshotFiles::list(pdir).empty());
  {
    auto p = open();  // the whole log is replayed
    EXPECT_EQ(p->last_stable_offset(), 0);
    ASSERT_EQ(p->open_transactions().size(), 1u);
    EXPECT_EQ(p->open_transactions().at(20), 0);
    std::vector<std::byte> retry = idem;
    EXPECT_EQ(p->append(retry).base_offset, idem_offset) << "a retry is still a duplicate";
    p->enforce_retention(false);  // writes a snapshot at the log end, the transaction open in it
    ASSERT_EQ(ProducerSnapshotFiles::list(pdir), std::vector<std::int64_t>{p->high_watermark()});
    fill(*p);
    // Another crash: the snapshot plus the batches after it.
  }
  std::int64_t marker = -1;
  {
    auto p = open();
    EXPECT_EQ(p->last_stable_offset(), 0);
    EXPECT_EQ(p->open_transactions().size(), 1u);
    std::vector<std::byte> retry = idem;
    EXPECT_EQ(p->append(retry).base_offset, idem_offset);
    p->enforce_retention(false);
    marker = p->high_watermark();
    ASSERT_EQ(p->append_marker(20, 0, /*commit=*/false, 0), 0);
    EXPECT_EQ(p->last_stable_offset(), p->high_watermark());
    // A crash after the abort: the snapshot still shows it open; the marker
    // after it closes it.
  }
  {
    auto p = open();
    EXPECT_TRUE(p->open_transactions().empty());
    EXPECT_EQ(p->last_stable_offset(), p->high_watermark());
    auto aborted = p->aborted_transactions(0, p->high_watermark());
    ASSERT_EQ(aborted.size(), 1u);
    EXPECT_EQ(aborted[0].first_offset, 0);
    EXPECT_EQ(aborted[0].last_offset, marker);
    auto t = txn_batch(40, 0, 0);
    ASSERT_EQ(p->append(t).error, 0);
    p->close();  // clean: a snapshot at the log end
    EXPECT_EQ(ProducerSnapshotFiles::list(pdir).back(), p->high_watermark());
    EXPECT_EQ(ProducerSnapshotFiles::list(pdir).size(), ProducerSnapshotFiles::kKeep);
  }
  auto p = open();
  ASSERT_EQ(p->open_transactions().size(), 1u);
  EXPECT_EQ(p->open_transactions().at(40), p->high_watermark() - 1);
}

TEST_F(PartitionSnapshotTest, UnusableSnapshotsAreSkipped) {
  std::int64_t end = -1;
  {
    auto p = open();
    auto t = txn_batch(20, 0, 0);
    ASSERT_EQ(p->append(t).error, 0);
    p->enforce_retention(false);  // snapshot at 1: producer 20 open
    ASSERT_EQ(p->append_marker(20, 0, /*commit=*/true, 0), 0);
    p->close();  // snapshot at 2: nothing open
    end = p->high_watermark();
  }
  ASSERT_EQ(ProducerSnapshotFiles::list(pdir), (std::vector<std::int64_t>{1, 2}));
  // A snapshot past the log end (the log lost its tail in a crash) is removed.
  ProducerSnapshot ghost;
  ghost.offset = end + 100;
  ghost.open_txns[99] = end + 50;
  {
    const auto bytes = ghost.encode();
    std::ofstream(pdir / "00000000000000000102.producer_snapshot", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  // A corrupt newest usable one is ignored: the older one plus the marker.
  const auto newest = pdir / "00000000000000000002.producer_snapshot";
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('\x7f');
  }
  auto p = open();
  EXPECT_TRUE(p->open_transactions().empty());
  EXPECT_EQ(p->last_stable_offset(), end);
  EXPECT_FALSE(std::filesystem::exists(pdir / "00000000000000000102.producer_snapshot"));
  EXPECT_FALSE(ProducerSnapshotFiles::read(pdir, 2));
  ASSERT_TRUE(ProducerSnapshotFiles::read(pdir, 1));
  EXPECT_EQ(ProducerSnapshotFiles::read(pdir, 1)->open_txns.at(20), 0);
}

TEST(ProducerSnapshot, RoundTripAndCorruption) {
  ProducerSnapshot s;
  s.offset = 1234;
  s.last_aborted_marker = 77;
  s.open_txns = {{5, 100}, {6, 1200}};
  s.producers = {std::byte{1}, std::byte{2}, std::byte{3}};
  auto bytes = s.encode();
  ASSERT_EQ(bytes.size(), 2u + 8 + 8 + 4 + 2 * 16 + 4 + 3 + 4);
  EXPECT_EQ(bytes[0], std::byte{0});
  EXPECT_EQ(bytes[1], std::byte{2});  // the version
  {
    // A version-1 file (the layout before it was described) is refused even
    // with a valid CRC: the partition then rebuilds its state from the log.
    std::vector<std::byte> v1(bytes.begin(), bytes.end() - 4);
    v1[1] = std::byte{1};
    const std::uint32_t crc = log::crc32c(v1);
    for (int k = 3; k >= 0; --k) v1.push_back(static_cast<std::byte>(crc >> (8 * k)));
    EXPECT_FALSE(ProducerSnapshot::decode(v1));
  }
  auto d = ProducerSnapshot::decode(bytes);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->offset, 1234);
  EXPECT_EQ(d->last_aborted_marker, 77);
  EXPECT_EQ(d->open_txns, s.open_txns);
  EXPECT_EQ(d->producers, s.producers);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= std::byte{0x40};
    EXPECT_FALSE(ProducerSnapshot::decode(bad)) << "byte " << i;
  }
  bytes.pop_back();
  EXPECT_FALSE(ProducerSnapshot::decode(bytes));
}

}  // namespace
}  // namespace nocopy::broker
