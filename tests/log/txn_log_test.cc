// Transaction markers (control batches), the .txnindex format and the
// per-partition transaction tracker (LSO, aborted transactions, recovery).
#include <gtest/gtest.h>

#include <fstream>

#include "log/control_batch.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "log/txn_index.h"
#include "log/txn_tracker.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

TEST(ControlBatch, KafkaLayout) {
  auto b = build_control_batch(42, 3, {ControlType::commit, 7}, 1234);
  auto h = validate_batch(b);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->is_control());
  EXPECT_TRUE(h->is_transactional());
  EXPECT_EQ(h->attributes, 0x30);
  EXPECT_EQ(h->producer_id, 42);
  EXPECT_EQ(h->producer_epoch, 3);
  EXPECT_EQ(h->base_sequence, -1);
  EXPECT_EQ(h->records_count, 1);
  auto recs = parse_records(b);
  ASSERT_TRUE(recs && recs->size() == 1);
  // key: int16 version 0, int16 type 1 (COMMIT); value: int16 version 0, int32 coordinator epoch.
  EXPECT_EQ((*recs)[0].key, std::string("\0\0\0\1", 4));
  EXPECT_EQ((*recs)[0].value, std::string("\0\0\0\0\0\7", 6));
  auto m = parse_control_batch(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, ControlType::commit);
  EXPECT_EQ(m->coordinator_epoch, 7);
  auto a = parse_control_batch(build_control_batch(1, 0, {ControlType::abort, 0}, 0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, ControlType::abort);
  // A data batch is not a marker.
  EXPECT_FALSE(parse_control_batch(test::make_batch(1)));
}

TEST(ControlBatch, UnknownTypeIsRejected) {
  auto b = BatchBuilder().attributes(0x30).producer(1, 0, -1).add(std::string("\0\0\0\5", 4), "x").build();
  EXPECT_FALSE(parse_control_batch(b));
}

TEST(TxnIndexFile, ThirtyFourByteEntriesAndTornTail) {
  test::TempDir dir(test::memory_dir());
  const auto path = TxnIndexFile::path_for(dir.path(), 100);
  EXPECT_EQ(path.filename().string(), "00000000000000000100.txnindex");
  EXPECT_EQ(TxnIndexFile::base_of(path), 100);
  EXPECT_EQ(TxnIndexFile::base_of(dir.path() / "00000000000000000100.index"), -1);
  AbortedTxn a{5, 100, 120, 121}, b{6, 110, 130, 131};
  ASSERT_TRUE(TxnIndexFile::append(path, a));
  ASSERT_TRUE(TxnIndexFile::append(path, b));
  EXPECT_EQ(std::filesystem::file_size(path), 68u);
  // Byte layout of the first entry.
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(bytes.size(), 68u);
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[1], 0);          // version 0
  EXPECT_EQ(bytes[9], 5);          // producer id
  EXPECT_EQ(bytes[17], 100);       // first offset
  EXPECT_EQ(bytes[25], 120);       // last offset
  EXPECT_EQ(bytes[33], 121);       // last stable offset
  auto all = TxnIndexFile::read(path);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], a);
  EXPECT_EQ(all[1], b);
  // A torn tail is ignored and overwritten by the next append.
  std::filesystem::resize_file(path, 68 + 10);
  EXPECT_EQ(TxnIndexFile::read(path).size(), 2u);
  AbortedTxn c{7, 140, 150, 151};
  ASSERT_TRUE(TxnIndexFile::append(path, c));
  auto again = TxnIndexFile::read(path);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[2], c);
}

TEST(TransactionTracker, LastStableOffsetFollowsTheEarliestOpenTransaction) {
  test::TempDir dir(test::memory_dir());
  TransactionTracker t(dir.path());
  t.load(std::vector<std::int64_t>{0});
  EXPECT_EQ(t.last_stable_offset(10), 10);
  t.on_data(1, 10);
  t.on_data(1, 12);  // same transaction
  t.on_data(2, 11);
  EXPECT_EQ(t.last_stable_offset(20), 10);
  auto r = t.on_marker(1, ControlType::commit, 20, 0);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());  // commits are not indexed
  EXPECT_EQ(t.last_stable_offset(21), 11);
  auto a = t.on_marker(2, ControlType::abort, 21, 0);
  ASSERT_TRUE(a && a->has_value());
  EXPECT_EQ(**a, (AbortedTxn{2, 11, 21, 22}));
  EXPECT_EQ(t.last_stable_offset(22), 22);
  EXPECT_EQ(t.first_unstable(), -1);
  // A marker of a producer with no open transaction changes nothing.
  auto none = t.on_marker(9, ControlType::abort, 22, 0);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(t.aborted_count(), 1u);
}

TEST(TransactionTracker, ProvisionalFirstOffsetMovesToTheRealOne) {
  test::TempDir dir(test::memory_dir());
  TransactionTracker t(dir.path());
  t.on_data(1, 5);
  EXPECT_EQ(t.last_stable_offset(100), 5);
  t.data_appended(1, 5, 8);
  EXPECT_EQ(t.last_stable_offset(100), 8);
  t.on_data(2, 9);
  t.data_failed(2, 9);
  EXPECT_EQ(t.open_transactions().size(), 1u);
}

TEST(TransactionTracker, AbortedListForAFetchAndReload) {
  test::TempDir dir(test::memory_dir());
  {
    TransactionTracker t(dir.path());
    t.load(std::vector<std::int64_t>{0, 100});
    t.on_data(1, 10);
    ASSERT_TRUE(t.on_marker(1, ControlType::abort, 20, 0));
    t.on_data(2, 30);
    t.on_data(3, 95);
    ASSERT_TRUE(t.on_marker(2, ControlType::abort, 110, 100));
    ASSERT_TRUE(t.on_marker(3, ControlType::abort, 111, 100));
    auto from0 = t.aborted(0, 1000);
    ASSERT_EQ(from0.size(), 3u);
    EXPECT_EQ(from0[1].last_stable_offset, 95);  // producer 3 still open then
    EXPECT_EQ(t.aborted(21, 1000).size(), 2u);
    EXPECT_EQ(t.aborted(0, 30).size(), 1u);  // upper bound is exclusive of first offsets
    EXPECT_TRUE(std::filesystem::exists(dir / "00000000000000000000.txnindex"));
    EXPECT_EQ(std::filesystem::file_size(dir / "00000000000000000100.txnindex"), 68u);
  }
  TransactionTracker t(dir.path());
  t.load(std::vector<std::int64_t>{0, 100});
  EXPECT_EQ(t.aborted(0, 1000).size(), 3u);
  // Replaying a marker already indexed does not index it twice.
  t.on_data(3, 95);
  ASSERT_TRUE(t.on_marker(3, ControlType::abort, 111, 100, true));
  EXPECT_EQ(t.aborted_count(), 3u);
  // A marker the index missed (a crash between the marker and its entry) is added.
  t.on_data(4, 112);
  ASSERT_TRUE(t.on_marker(4, ControlType::abort, 113, 100, true));
  EXPECT_EQ(t.aborted_count(), 4u);
  // Retention of segment 0: its index goes, entries below the start are forgotten.
  t.prune(100, std::vector<std::int64_t>{100});
  EXPECT_FALSE(std::filesystem::exists(dir / "00000000000000000000.txnindex"));
  EXPECT_EQ(t.aborted(0, 1000).size(), 3u);
  // Loading removes the index of a segment that no longer exists.
  TransactionTracker u(dir.path());
  u.load(std::vector<std::int64_t>{200});
  EXPECT_FALSE(std::filesystem::exists(dir / "00000000000000000100.txnindex"));
  EXPECT_EQ(u.aborted_count(), 0u);
}

TEST(TransactionTracker, PartitionLogAcceptsMarkersOnlyWhenAllowed) {
  test::TempDir dir(test::memory_dir());
  LogConfig cfg;
  auto plain = PartitionLog::open(dir / "a", cfg);
  auto marker = build_control_batch(1, 0, {ControlType::commit, 0}, 0);
  EXPECT_FALSE(plain->append(marker));
  cfg.allow_control_batches = true;
  auto log = PartitionLog::open(dir / "b", cfg);
  auto m2 = build_control_batch(1, 0, {ControlType::commit, 0}, 0);
  auto r = log->append(m2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base_offset, 0);
  EXPECT_EQ(log->log_end_offset(), 1);
}

}  // namespace
}  // namespace nocopy::log
