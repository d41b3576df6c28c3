// PartitionLog appends: group commit from concurrent appenders and its
// commit delay, flush notifications, preallocation ahead of the writer, and
// limits reconfigured on an open log.
#include "log/partition_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "log/record_batch.h"
#include "partition_log_fixture.h"

namespace nocopy::log {
namespace {

using test::allocated_bytes;
using test::make_batch;
using test::newest_log_file;
using test::page_up;
using test::read_regions;
using test::TempDir;

using test::PartitionLogTest;

TEST_P(PartitionLogTest, GroupCommitFromConcurrentAppenders) {
  LogConfig c = every_append_config();
  auto log = PartitionLog::open(dir_.path(), c);
  constexpr int kThreads = 8, kPer = 15;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        auto b = make_batch(t * 1000 + i, 1, 200);
        auto info = log->append(b);
        if (!info || !log->wait_flushed(info->last_offset)) {
          failures++;
          continue;
        }
        if (log->flushed_offset() <= info->last_offset) failures++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->log_end_offset(), kThreads * kPer);
  EXPECT_EQ(log->flushed_offset(), kThreads * kPer);
}

// The commit delay: a sync that released K >= 2 waiters makes the next one
// wait for K pending waiters, bounded by four times the last sync's duration -- so
// a huge configured delay never stalls appenders that do not come back.
TEST_P(PartitionLogTest, CommitDelayGathersWaitersAndIsBoundedByTheLastSync) {
  LogConfig c = every_append_config();
  c.flush.group_commit_delay_us = 60'000'000;  // a minute: only the sync-time bound can end a wait
  auto log = PartitionLog::open(dir_.path(), c);
  constexpr int kThreads = 6;
  std::atomic<int> failures{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    // Unequal counts: at the end fewer appenders come back than the last
    // sync released, and the delay has to give up.
    const int per = 10 + 5 * t;
    ts.emplace_back([&, t, per] {
      for (int i = 0; i < per; ++i) {
        auto b = make_batch(t * 1000 + i, 1, 200);
        auto info = log->append(b);
        if (!info || !log->wait_flushed(info->last_offset) || log->flushed_offset() <= info->last_offset) {
          failures++;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->flushed_offset(), log->log_end_offset());
  const auto st = log->flush_stats();
  EXPECT_GT(st.delays, 0u) << "six appenders never made a sync cover two waiters";
  EXPECT_GT(st.waiters_covered, 0u);
  EXPECT_LT(secs, 30.0) << "the delay was not bounded by the last sync";
  // Every wait ended by the bound or by the waiters arriving; either way it
  // took no longer than a minute in total.
  EXPECT_LT(st.delay_ns, 60'000'000'000ull);
  EXPECT_LE(st.delay_timeouts, st.delays);
  EXPECT_LE(st.delays, st.syncs);
}

TEST_P(PartitionLogTest, CommitDelayNeverHoldsALoneWaiter) {
  LogConfig c = config();
  c.flush.mode = FlushPolicy::Mode::every_append;
  c.flush.group_commit_delay_us = 60'000'000;
  auto log = PartitionLog::open(dir_.path(), c);
  for (int i = 0; i < 50; ++i) {
    auto b = make_batch(i, 1, 100);
    auto info = log->append(b);
    ASSERT_TRUE(info);
    ASSERT_TRUE(log->wait_flushed(info->last_offset));
  }
  const auto st = log->flush_stats();
  EXPECT_GT(st.syncs, 0u);
  EXPECT_EQ(st.delays, 0u);  // one waiter at a time: K < 2, never a delay
  EXPECT_LE(st.waiters_covered, st.syncs);  // never more than the one waiter per sync
}

// Runs fn on a thread; fails and exits the test binary when it has not
// returned after `limit` (a lost wake-up would otherwise hang ctest).
template <typename Fn>
void within(std::chrono::seconds limit, Fn fn) {
  auto fut = std::async(std::launch::async, std::move(fn));
  if (fut.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "still running after " << limit.count() << " s: a waiter was never woken";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  fut.get();
}

// Blocking waiters lead the group syncs themselves (SyncBy::caller: no
// flusher run is ever scheduled), with the commit delay, at random paces --
// and none of them is left asleep: a waiter whose data a sync covered while
// it kept the gathering time must still hand the lead to the latecomers.
TEST_P(PartitionLogTest, WaitersLeadTheirSyncsAndNoneIsLeftBehind) {
  LogConfig c = every_append_config(4 << 20);
  c.flush.group_commit_delay_us = 2000;
  auto log = PartitionLog::open(dir_.path(), c);
  constexpr int kThreads = 8, kPer = 200;
  std::atomic<int> failures{0};
  // Pauses up to 100 us, 300 us, 1 ms between an appender's waits: waiters
  // come before, during and after each other's syncs.
  for (int max_pause_us : {100, 300, 1000}) {
    SCOPED_TRACE(max_pause_us);
    within(std::chrono::seconds(30), [&] {
      std::vector<std::thread> ts;
      for (int t = 0; t < kThreads; ++t) {
        ts.emplace_back([&, t] {
          std::uint32_t rng = 2654435761u * (t + 1) + max_pause_us;
          for (int i = 0; i < kPer; ++i) {
            auto b = make_batch(t * 1000 + i, 1, 100);
            auto info = log->append(b, PartitionLog::SyncBy::caller);
            if (!info || !log->wait_flushed(info->last_offset) || log->flushed_offset() <= info->last_offset) {
              failures++;
            }
            rng = rng * 1103515245u + 12345u;
            const int pause = static_cast<int>((rng >> 16) % (2 * max_pause_us));  // half of them: none
            if (pause > max_pause_us) std::this_thread::sleep_for(std::chrono::microseconds(pause - max_pause_us));
          }
        });
      }
      for (auto& th : ts) th.join();
    });
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->flushed_offset(), 3 * kThreads * kPer);
  const auto st = log->flush_stats();
  EXPECT_GT(st.syncs, 0u);
  EXPECT_EQ(st.led, st.syncs) << "a flusher run synced although every append said SyncBy::caller";
  EXPECT_GT(st.waiters_covered, st.syncs) << "no sync ever covered two waiters";
}

// An append nobody waits for is still synced under every_append: by a
// flusher run within the commit delay, or at once without one.
TEST_P(PartitionLogTest, AnAppendNobodyWaitsForIsSyncedSoon) {
  for (std::int64_t delay_us : {0, 500, 20'000}) {
    SCOPED_TRACE(delay_us);
    TempDir dir;
    LogConfig c = config();
    c.flush.mode = FlushPolicy::Mode::every_append;
    c.flush.group_commit_delay_us = delay_us;
    auto log = PartitionLog::open(dir.path(), c);
    for (int i = 0; i < 5; ++i) {
      auto b = make_batch(i);
      ASSERT_TRUE(log->append(b));
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (log->flushed_offset() < 5 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(log->flushed_offset(), 5);
    EXPECT_EQ(log->flush_stats().led, 0u);
  }
}

// Callbacks (the broker's acks=all) and blocking waiters on one log: the
// flusher gathers for the callbacks, waiters lead when it does not; every
// one of them completes. (Who leads which sync in the mixed phase is up to
// the scheduler -- the flusher's gathering may cover every waiter -- so the
// two paths are each checked afterwards on their own.)
TEST_P(PartitionLogTest, CallbacksAndBlockingWaitersShareTheSyncs) {
  LogConfig c = every_append_config();
  auto log = PartitionLog::open(dir_.path(), c);
  constexpr int kThreads = 8, kPer = 60;
  std::atomic<int> failures{0};
  within(std::chrono::seconds(60), [&] {
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < kPer; ++i) {
          auto b = make_batch(t * 1000 + i, 1, 100);
          auto info = log->append(b, PartitionLog::SyncBy::caller);
          if (!info) {
            failures++;
            continue;
          }
          if (t % 2 == 0) {
            if (!log->wait_flushed(info->last_offset)) failures++;
          } else {
            std::promise<bool> done;
            log->request_flush_notification(info->last_offset,
                                            [&](const LogResult<void>& r) { done.set_value(r.has_value()); });
            if (!done.get_future().get()) failures++;
          }
          if (log->flushed_offset() <= info->last_offset) failures++;
        }
      });
    }
    for (auto& th : ts) th.join();
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->flushed_offset(), kThreads * kPer);

  // Blocking waiters alone lead their syncs (nobody asked the flusher).
  const auto st0 = log->flush_stats();
  for (int i = 0; i < 5; ++i) {
    auto b = make_batch(90'000 + i, 1, 100);
    auto info = log->append(b, PartitionLog::SyncBy::caller);
    ASSERT_TRUE(info);
    ASSERT_TRUE(log->wait_flushed(info->last_offset));
  }
  const auto st1 = log->flush_stats();
  EXPECT_GT(st1.led, st0.led);
  // Callbacks alone are synced by the flusher.
  for (int i = 0; i < 5; ++i) {
    auto b = make_batch(91'000 + i, 1, 100);
    auto info = log->append(b, PartitionLog::SyncBy::caller);
    ASSERT_TRUE(info);
    std::promise<bool> done;
    log->request_flush_notification(info->last_offset,
                                    [&](const LogResult<void>& r) { done.set_value(r.has_value()); });
    ASSERT_TRUE(done.get_future().get());
  }
  const auto st2 = log->flush_stats();
  EXPECT_GT(st2.syncs - st2.led, st1.syncs - st1.led);
  EXPECT_EQ(log->flushed_offset(), log->log_end_offset());
}

// close() while waiters lead syncs: every wait ends (flushed, or `closed`),
// and whatever a wait reported flushed is there after reopening.
TEST_P(PartitionLogTest, CloseWhileWaitersLeadSyncs) {
  LogConfig c = every_append_config();
  auto log = PartitionLog::open(dir_.path(), c);
  constexpr int kThreads = 8;
  std::atomic<std::int64_t> max_acked{-1};
  std::atomic<int> unexpected{0};
  within(std::chrono::seconds(60), [&] {
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          auto b = make_batch(t * 100000 + i, 1, 100);
          auto info = log->append(b, PartitionLog::SyncBy::caller);
          if (!info) {
            if (info.error().kind != LogErrc::closed) unexpected++;
            return;
          }
          auto w = log->wait_flushed(info->last_offset);
          if (!w) {
            if (w.error().kind != LogErrc::closed) unexpected++;
            return;
          }
          std::int64_t seen = max_acked.load();
          while (seen < info->last_offset && !max_acked.compare_exchange_weak(seen, info->last_offset)) {
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log->close();
    for (auto& th : ts) th.join();
  });
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GE(max_acked.load(), 0) << "no append was acknowledged in 100 ms";
  log.reset();
  auto reopened = PartitionLog::open(dir_.path(), c);
  EXPECT_GT(reopened->log_end_offset(), max_acked.load());
}

TEST_P(PartitionLogTest, ReconfigureChangesLimitsOfTheOpenLog) {
  auto log = PartitionLog::open(dir_.path(), config());  // 64 KiB segments, no size retention
  auto append_n = [&](int n, std::size_t value_bytes) {
    for (int i = 0; i < n; ++i) {
      auto b = make_batch(i, 1, value_bytes);
      auto info = log->append(b);
      ASSERT_TRUE(info) << info.error().to_string();
    }
  };
  append_n(40, 4000);  // ~160 KB: a few 64 KiB segments
  const std::size_t before = log->segment_count();
  ASSERT_GE(before, 3u);

  // max_message_bytes: lowered, a batch that passed before is refused (and
  // nothing is appended); raised again, it passes.
  LogConfig lim = config();
  lim.max_message_bytes = 2000;
  log->reconfigure(lim);
  const std::int64_t end = log->log_end_offset();
  auto big = make_batch(1, 1, 4000);
  auto r = log->append(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, LogErrc::message_too_large);
  EXPECT_EQ(log->log_end_offset(), end);
  lim.max_message_bytes = 1 << 20;
  log->reconfigure(lim);
  ASSERT_TRUE(log->append(big));

  // segment_bytes: smaller segments from the next roll on.
  lim.segment_bytes = 16 * 1024;
  log->reconfigure(lim);
  const std::size_t segs = log->segment_count();
  append_n(20, 4000);  // 80 KB: at least 4 more segments of <= 16 KiB
  EXPECT_GE(log->segment_count(), segs + 4);
  for (std::int64_t base : log->segment_base_offsets()) {
    if (base < end + 1) continue;  // segments from before keep their size
    EXPECT_LE(std::filesystem::file_size(dir_.path() / LogSegment::file_name(base, ".log")), 16u * 1024)
        << "segment " << base;
  }
  // Larger again: in mmap mode the active segment is mapped at 16 KiB and
  // must roll there instead of failing the append.
  lim.segment_bytes = 1 << 20;
  log->reconfigure(lim);
  append_n(10, 4000);

  // retention_bytes: the next retention pass applies it.
  lim.retention_bytes = 32 * 1024;
  log->reconfigure(lim);
  auto ret = log->enforce_retention();
  ASSERT_TRUE(ret) << ret.error().to_string();
  EXPECT_GT(ret->segments_deleted, 0u);
  EXPECT_LE(log->size_bytes(), 32u * 1024 + (1u << 20));  // the active segment may be larger

  // Every offset still readable from the log start.
  for (std::int64_t o = log->log_start_offset(); o < log->log_end_offset(); ++o) {
    auto rd = log->read(o, 1);
    ASSERT_TRUE(rd) << "offset " << o << ": " << rd.error().to_string();
    ASSERT_FALSE(rd->regions.empty());
  }

  lim.segment_bytes = 100;
  EXPECT_THROW(log->reconfigure(lim), std::invalid_argument);
}

TEST_P(PartitionLogTest, ReconfigureRaisingSegmentBytesNeverOverrunsAnEmptyActiveSegment) {
  LogConfig c = config();
  c.segment_bytes = 4096;
  auto log = PartitionLog::open(dir_.path(), c);  // empty active segment made for 4 KiB
  LogConfig lim = c;
  lim.segment_bytes = 64 * 1024;
  log->reconfigure(lim);
  auto big = make_batch(1, 1, 8000);
  auto r = log->append(big);  // cannot roll an empty segment: refused, not written past its end
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, LogErrc::record_list_too_large);
  EXPECT_EQ(log->log_end_offset(), 0);
  auto small = make_batch(2, 1, 100);
  ASSERT_TRUE(log->append(small));
  ASSERT_TRUE(log->append(big)) << "rolls to a 64 KiB segment";
  auto rd = log->read(1, 1);
  ASSERT_TRUE(rd);
  EXPECT_EQ(read_regions(rd->regions), big);
}

TEST_P(PartitionLogTest, FlushNotificationCallsBack) {
  auto log = PartitionLog::open(dir_.path(), config());  // FlushPolicy::Mode::never
  auto b = make_batch(1);
  auto info = log->append(b);
  ASSERT_TRUE(info);
  EXPECT_EQ(log->flushed_offset(), 0);
  std::promise<bool> done;
  log->request_flush_notification(info->last_offset, [&](const LogResult<void>& r) { done.set_value(r.has_value()); });
  auto fut = done.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(fut.get());
  EXPECT_GT(log->flushed_offset(), info->last_offset);
  // Already durable: the callback runs inline.
  bool inline_called = false;
  log->request_flush_notification(info->last_offset, [&](const LogResult<void>& r) { inline_called = r.has_value(); });
  EXPECT_TRUE(inline_called);
  // Not yet appended: an error, inline.
  bool err = false;
  log->request_flush_notification(1000, [&](const LogResult<void>& r) { err = !r.has_value(); });
  EXPECT_TRUE(err);
}

// pwrite mode reserves LogConfig::preallocate_bytes past the active
// segment's end (fallocate KEEP_SIZE). The size never shows it (readers and
// recovery see only appended bytes); a roll and a close give back what was
// not written, and so does the next close after a crash left a reservation.
// On a disk filesystem and on tmpfs, which free such blocks differently.
TEST(Preallocation, ReservedAheadOfTheWriterAndReleasedOnRollAndClose) {
  std::vector<std::filesystem::path> bases{std::filesystem::temp_directory_path()};
  if (test::memory_dir() != bases[0]) bases.push_back(test::memory_dir());
  constexpr std::uint64_t kAhead = 256 * 1024, kSlack = 64 * 1024;  // slack: extent blocks and the like
  for (const auto& base : bases) {
    SCOPED_TRACE(base.string());
    TempDir dir(base);
    {
      io::File probe = io::File::open(dir / "probe", io::File::Mode::create_rw);
      auto r = probe.reserve(0, 4096);
      if (!r && r.error().err == EOPNOTSUPP) GTEST_SKIP() << "no fallocate(KEEP_SIZE) on " << base;
      std::filesystem::remove(dir / "probe");
    }
    LogConfig c;
    c.write_mode = WriteMode::pwrite;
    c.segment_bytes = 2 << 20;
    c.preallocate_bytes = kAhead;
    const auto seg0 = dir / LogSegment::file_name(0, ".log");
    std::vector<std::byte> model;
    {
      auto log = PartitionLog::open(dir.path(), c);
      for (int i = 0; i < 100; ++i) {
        auto b = make_batch(i, 1, 1000);
        ASSERT_TRUE(log->append(b));
        model.insert(model.end(), b.begin(), b.end());
      }
      const std::uint64_t size = std::filesystem::file_size(seg0);
      EXPECT_EQ(size, model.size());  // nothing of the reservation shows in the size
      EXPECT_GE(allocated_bytes(seg0), page_up(size) + kAhead / 2);  // the reservation is there
      EXPECT_LE(allocated_bytes(seg0), page_up(size) + kAhead + 8192 + kSlack);  // one chunk ahead, not more
      auto r = log->read(0, 1ull << 40);
      ASSERT_TRUE(r);
      EXPECT_EQ(read_regions(r->regions), model);
      // Fill segment 0 until it rolls: what it did not use is given back.
      std::int64_t i = 100;
      while (log->segment_count() < 2) {
        auto b = make_batch(static_cast<std::uint64_t>(i++), 1, 1000);
        ASSERT_TRUE(log->append(b));
        model.insert(model.end(), b.begin(), b.end());
      }
      const std::uint64_t sealed = std::filesystem::file_size(seg0);
      EXPECT_LE(allocated_bytes(seg0), page_up(sealed) + kSlack);
      const auto seg1 = newest_log_file(dir.path());
      EXPECT_GE(allocated_bytes(seg1), kAhead / 2);
      log->close();
      EXPECT_LE(allocated_bytes(seg1), page_up(std::filesystem::file_size(seg1)) + kSlack);
    }
    // A crash between reserving and sealing leaves blocks past the end: the
    // reopened log frees them when it next closes, and reads back the same.
    const auto seg = newest_log_file(dir.path());
    const std::uint64_t size = std::filesystem::file_size(seg);
    {
      io::File f = io::File::open(seg, io::File::Mode::read_write);
      ASSERT_TRUE(f.reserve(size, kAhead));
    }
    EXPECT_GE(allocated_bytes(seg), page_up(size) + kAhead / 2);
    {
      auto log = PartitionLog::open(dir.path(), c);
      auto r = log->read(0, 1ull << 40);
      ASSERT_TRUE(r);
      EXPECT_EQ(read_regions(r->regions), model);
    }
    EXPECT_EQ(std::filesystem::file_size(seg), size);
    EXPECT_LE(allocated_bytes(seg), page_up(size) + kSlack);
    // preallocate_bytes 0: nothing past the end.
    TempDir off(base);
    c.preallocate_bytes = 0;
    auto log = PartitionLog::open(off.path(), c);
    for (int k = 0; k < 20; ++k) {
      auto b = make_batch(static_cast<std::uint64_t>(k), 1, 1000);
      ASSERT_TRUE(log->append(b));
    }
    const auto f0 = off / LogSegment::file_name(0, ".log");
    EXPECT_LE(allocated_bytes(f0), page_up(std::filesystem::file_size(f0)) + kSlack);
  }
}

// Instantiated for both write modes in partition_log_test.cc (one
// instantiation per suite: its TEST_Ps from every file join it).

}  // namespace
}  // namespace nocopy::log
