#include "broker/producer_state.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <limits>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using Batch = ProducerStateManager::BatchId;
using Verdict = ProducerStateManager::Verdict;

// Appends like the broker would: check, then record at the log end.
struct Partition {
  ProducerStateManager state;
  std::int64_t log_end = 0;
  std::int64_t appended_batches = 0;

  // Returns the base offset the producer is told, or the error.
  std::pair<ErrorCode, std::int64_t> produce(const Batch& b) {
    auto c = state.check(b);
    if (c.verdict == Verdict::reject) return {c.error, -1};
    if (c.verdict == Verdict::duplicate) return {ErrorCode::none, c.duplicate_base_offset};
    std::int64_t base = log_end;
    log_end += b.record_count;
    ++appended_batches;
    state.record(b, base, log_end - 1);
    return {ErrorCode::none, base};
  }
};

TEST(ProducerState, NonIdempotentBatchesAreNotTracked) {
  Partition p;
  Batch b{-1, -1, -1, 3};
  EXPECT_EQ(p.produce(b).first, ErrorCode::none);
  EXPECT_EQ(p.produce(b).first, ErrorCode::none);
  EXPECT_EQ(p.appended_batches, 2);
  EXPECT_EQ(p.state.producer_count(), 0u);
}

TEST(ProducerState, InOrderThenRetriedDuplicatesReturnOriginalOffsets) {
  Partition p;
  std::vector<std::int64_t> offsets;
  for (int i = 0; i < 5; ++i) {
    auto [err, off] = p.produce(Batch{7, 0, i * 10, 10});
    ASSERT_EQ(err, ErrorCode::none);
    offsets.push_back(off);
  }
  EXPECT_EQ(p.appended_batches, 5);
  // Any of the last five, retried (lost response), is a duplicate.
  for (int i = 0; i < 5; ++i) {
    auto [err, off] = p.produce(Batch{7, 0, i * 10, 10});
    EXPECT_EQ(err, ErrorCode::none);
    EXPECT_EQ(off, offsets[i]);
  }
  EXPECT_EQ(p.appended_batches, 5);
  EXPECT_EQ(p.log_end, 50);
  // A sixth batch pushes the first out of the window: retrying it now is
  // out of order, not a duplicate.
  ASSERT_EQ(p.produce(Batch{7, 0, 50, 10}).first, ErrorCode::none);
  EXPECT_EQ(p.produce(Batch{7, 0, 0, 10}).first, ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(p.produce(Batch{7, 0, 10, 10}).second, offsets[1]);
}

TEST(ProducerState, GapsAreOutOfOrder) {
  Partition p;
  ASSERT_EQ(p.produce(Batch{1, 0, 0, 5}).first, ErrorCode::none);
  EXPECT_EQ(p.produce(Batch{1, 0, 6, 5}).first, ErrorCode::out_of_order_sequence_number);   // gap of one
  EXPECT_EQ(p.produce(Batch{1, 0, 3, 5}).first, ErrorCode::out_of_order_sequence_number);   // overlap
  EXPECT_EQ(p.produce(Batch{1, 0, 0, 4}).first, ErrorCode::out_of_order_sequence_number);   // same start, other end
  EXPECT_EQ(p.produce(Batch{1, 0, 5, 5}).first, ErrorCode::none);
  EXPECT_EQ(p.appended_batches, 2);
  // Another producer's sequences are independent.
  EXPECT_EQ(p.produce(Batch{2, 0, 0, 1}).first, ErrorCode::none);
}

TEST(ProducerState, Epochs) {
  Partition p;
  ASSERT_EQ(p.produce(Batch{1, 3, 0, 5}).first, ErrorCode::none);
  EXPECT_EQ(p.produce(Batch{1, 2, 5, 5}).first, ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(p.produce(Batch{1, 4, 5, 5}).first, ErrorCode::out_of_order_sequence_number);  // new epoch must start at 0
  ASSERT_EQ(p.produce(Batch{1, 4, 0, 2}).first, ErrorCode::none);
  EXPECT_EQ(p.produce(Batch{1, 3, 5, 5}).first, ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(p.produce(Batch{1, 4, 2, 1}).first, ErrorCode::none);
  // The old epoch's window is gone: its batch 0..4 is not a duplicate.
  EXPECT_EQ(p.produce(Batch{1, 4, 0, 5}).first, ErrorCode::out_of_order_sequence_number);
}

TEST(ProducerState, UnknownProducerAcceptedAtAnySequence) {
  Partition p;
  EXPECT_EQ(p.produce(Batch{9, 0, 1234, 2}).first, ErrorCode::none);
  EXPECT_EQ(p.produce(Batch{9, 0, 1236, 1}).first, ErrorCode::none);
  EXPECT_EQ(p.produce(Batch{9, 0, 1238, 1}).first, ErrorCode::out_of_order_sequence_number);
}

TEST(ProducerState, IdleProducersExpire) {
  ProducerStateManager s;
  s.record(Batch{7, 0, 0, 1}, 0, 0, 1'000);
  s.record(Batch{8, 0, 0, 1}, 1, 1, 5'000);
  s.record(Batch{9, 0, 0, 1}, 2, 2);  // replayed from the log: no time yet
  EXPECT_EQ(s.expire(10'000, -1), 0u) << "-1: never";
  EXPECT_EQ(s.expire(10'999, 10'000), 0u);  // 7 is idle 9,999 ms; 9's clock starts here
  EXPECT_EQ(s.producer_count(), 3u);
  EXPECT_EQ(s.expire(11'000, 10'000), 1u);  // 7 is idle 10,000 ms: gone
  EXPECT_EQ(s.producer_count(), 2u);
  // An append refreshes the clock.
  s.record(Batch{8, 0, 1, 1}, 3, 3, 14'000);
  EXPECT_EQ(s.expire(20'998, 10'000), 0u);
  EXPECT_EQ(s.expire(20'999, 10'000), 1u);  // 9 (its clock started at the 10,999 pass)
  EXPECT_EQ(s.expire(24'000, 10'000), 1u);  // 8 (last append 14,000)
  EXPECT_EQ(s.producer_count(), 0u);
  // A forgotten producer is unknown again: any sequence is accepted.
  EXPECT_EQ(s.check(Batch{7, 0, 1, 1}).verdict, Verdict::append);
  EXPECT_EQ(s.check(Batch{7, 0, 500, 1}).verdict, Verdict::append);
}

TEST(ProducerState, SequenceWrapsAtInt32Max) {
  constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
  Batch b{5, 0, kMax - 1, 3};
  EXPECT_EQ(b.last_sequence(), 0);
  Partition p;
  ASSERT_EQ(p.produce(b).first, ErrorCode::none);
  EXPECT_EQ(p.produce(Batch{5, 0, 1, 4}).first, ErrorCode::none);
  EXPECT_EQ(p.produce(b).second, 0);  // still recognised as a duplicate
}

TEST(ProducerState, SnapshotRoundTripAndRebuild) {
  Partition p;
  for (int i = 0; i < 7; ++i) ASSERT_EQ(p.produce(Batch{1, 0, i, 1}).first, ErrorCode::none);
  ASSERT_EQ(p.produce(Batch{2, 3, 0, 4}).first, ErrorCode::none);
  auto snap = p.state.snapshot();

  Partition restored;
  ASSERT_TRUE(restored.state.load_snapshot(snap));
  restored.log_end = p.log_end;
  EXPECT_EQ(restored.state.producer_count(), 2u);
  EXPECT_EQ(restored.produce(Batch{1, 0, 6, 1}).second, 6);  // duplicate, original offset
  EXPECT_EQ(restored.produce(Batch{2, 3, 0, 4}).second, 7);
  EXPECT_EQ(restored.produce(Batch{1, 0, 8, 1}).first, ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(restored.produce(Batch{2, 2, 4, 1}).first, ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(restored.appended_batches, 0);
  EXPECT_EQ(restored.state.snapshot(), snap);

  // Rebuilding from the log's batch headers gives the same answers.
  ProducerStateManager rebuilt;
  std::int64_t off = 0;
  for (int i = 0; i < 7; ++i, ++off) rebuilt.record(Batch{1, 0, i, 1}, off, off);
  rebuilt.record(Batch{2, 3, 0, 4}, off, off + 3);
  EXPECT_EQ(rebuilt.check(Batch{1, 0, 6, 1}).duplicate_base_offset, 6);
  EXPECT_EQ(rebuilt.check(Batch{1, 0, 7, 1}).verdict, Verdict::append);
}

TEST(ProducerState, MalformedSnapshotsLeaveStateUnchanged) {
  Partition p;
  ASSERT_EQ(p.produce(Batch{1, 0, 0, 1}).first, ErrorCode::none);
  ASSERT_EQ(p.produce(Batch{2, 0, 0, 1}).first, ErrorCode::none);
  auto snap = p.state.snapshot();
  ProducerStateManager m;
  for (std::size_t cut = 0; cut < snap.size(); ++cut) {
    EXPECT_FALSE(m.load_snapshot(std::span(snap).first(cut))) << cut;
  }
  auto longer = snap;
  longer.push_back(std::byte{0});
  EXPECT_FALSE(m.load_snapshot(longer));
  auto huge = snap;
  huge[2] = std::byte{0x7f};  // producer count 2^31-ish
  EXPECT_FALSE(m.load_snapshot(huge));
  EXPECT_EQ(m.producer_count(), 0u);
  EXPECT_TRUE(m.load_snapshot(snap));
  EXPECT_EQ(m.producer_count(), 2u);
}

TEST(ProducerIdAllocator, BlocksArePersistedBeforeUse) {
  std::vector<std::int64_t> persisted;
  ProducerIdAllocator a(0, [&](std::int64_t v) { persisted.push_back(v); }, 10);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(a.allocate(), i);
  EXPECT_EQ(persisted, (std::vector<std::int64_t>{10, 20, 30}));

  // Restart from the last persisted value: no id is reused.
  ProducerIdAllocator b(persisted.back(), [&](std::int64_t v) { persisted.push_back(v); }, 10);
  EXPECT_EQ(b.allocate(), 30);
  EXPECT_EQ(persisted.back(), 40);
}

TEST(ProducerIdAllocator, ReservedBlocksJumpToWhereTheReservationSays) {
  // Cluster mode: each block starts wherever the shared counter was; a
  // failed or negative reservation hands out nothing and the next call
  // reserves again.
  constexpr std::int64_t kFail = std::numeric_limits<std::int64_t>::min();
  std::deque<std::int64_t> answers{500, kFail, -7, 2000};
  std::vector<std::int64_t> asked;
  ProducerIdAllocator a(
      [&](std::int64_t n) {
        asked.push_back(n);
        const auto v = answers.front();
        answers.pop_front();
        if (v == kFail) throw std::runtime_error("etcd unreachable");
        return v;
      },
      3);
  EXPECT_EQ(a.allocate(), 500);
  EXPECT_EQ(a.allocate(), 501);
  EXPECT_EQ(a.allocate(), 502);
  EXPECT_THROW(a.allocate(), std::runtime_error);
  EXPECT_THROW(a.allocate(), std::runtime_error) << "a negative block start is refused";
  EXPECT_EQ(a.allocate(), 2000);
  EXPECT_EQ(a.allocate(), 2001);
  EXPECT_EQ(asked, (std::vector<std::int64_t>{3, 3, 3, 3}));
}

TEST(ProducerIdAllocator, InitProducerIdResponses) {
  int calls = 0;
  ProducerIdAllocator a(100, [&](std::int64_t) {
    if (++calls == 1) throw std::runtime_error("disk full");
  });
  kafka::InitProducerIdRequest idem{std::nullopt, 60000};
  auto r1 = a.init_producer_id(idem);
  EXPECT_EQ(r1.error_code, kafka::to_wire(ErrorCode::coordinator_not_available));
  auto r2 = a.init_producer_id(idem);
  EXPECT_EQ(r2.error_code, 0);
  EXPECT_EQ(r2.producer_id, 100);
  EXPECT_EQ(r2.producer_epoch, 0);
  EXPECT_EQ(a.init_producer_id(idem).producer_id, 101);
  kafka::InitProducerIdRequest txn{std::string("txn-1"), 60000};
  EXPECT_EQ(a.init_producer_id(txn).error_code, kafka::to_wire(ErrorCode::invalid_request));
}

TEST(ProducerIdAllocator, ConcurrentAllocationsAreUnique) {
  std::atomic<int> persists{0};
  ProducerIdAllocator a(0, [&](std::int64_t) { ++persists; }, 100);
  std::vector<std::vector<std::int64_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) got[t].push_back(a.allocate());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 8000u);
  EXPECT_EQ(*all.rbegin(), 7999);
  EXPECT_EQ(persists.load(), 80);
}

}  // namespace
}  // namespace nocopy::broker
