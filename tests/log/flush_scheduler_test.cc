// FlushScheduler: the shared flusher pool, alone (fake clients) and under
// PartitionLogs (thread count, interval policy, open/append/close races).
#include "log/flush_scheduler.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "log/partition_log.h"
#include "log/log_segment.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using namespace std::chrono_literals;
using test::make_batch;
using test::TempDir;

// A client whose runs are counted and can be held at a gate.
class FakeClient final : public FlushScheduler::Client {
 public:
  void run_flush_work() noexcept override {
    const int inside = inside_.fetch_add(1) + 1;
    if (inside > 1) overlapped_ = true;
    {
      std::unique_lock lk(mu_);
      ++runs_;
      threads_.insert(std::this_thread::get_id());
      cv_.notify_all();
      cv_.wait(lk, [&] { return !held_; });
    }
    inside_.fetch_sub(1);
  }
  void hold() {
    std::lock_guard lk(mu_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lk(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // Waits until at least `n` runs started (bounded).
  bool wait_runs(int n, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, limit, [&] { return runs_ >= n; });
  }
  int runs() {
    std::lock_guard lk(mu_);
    return runs_;
  }
  std::set<std::thread::id> threads() {
    std::lock_guard lk(mu_);
    return threads_;
  }
  bool overlapped() const { return overlapped_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int runs_ = 0;
  bool held_ = false;
  std::set<std::thread::id> threads_;
  std::atomic<int> inside_{0};
  std::atomic<bool> overlapped_{false};
};

// Threads of this process (/proc/self/task). An exited, joined thread may
// linger there for a moment: settled_thread_count() waits (bounded) for the
// count to reach `want` or less.
std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n;
}

std::size_t settled_thread_count(std::size_t want) {
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t n = thread_count();
  while (n > want && std::chrono::steady_clock::now() - t0 < 5s) {
    std::this_thread::sleep_for(1ms);
    n = thread_count();
  }
  return n;
}

TEST(FlushScheduler, SchedulesDuringARunCoalesceIntoOneRerun) {
  FlushScheduler s(2);
  FakeClient c;
  auto h = s.attach(&c);
  c.hold();
  s.schedule(h);
  ASSERT_TRUE(c.wait_runs(1));
  for (int i = 0; i < 1000; ++i) s.schedule(h);  // all while run 1 is held
  c.release();
  ASSERT_TRUE(c.wait_runs(2));
  s.detach(h);  // waits for run 2 if it is still going
  EXPECT_EQ(c.runs(), 2);
  EXPECT_FALSE(c.overlapped());
}

TEST(FlushScheduler, NeverRunsOneClientOnTwoThreadsAtOnce) {
  FlushScheduler s(4);
  constexpr int kClients = 3;
  std::vector<FakeClient> cs(kClients);
  std::vector<FlushScheduler::Handle> hs;
  for (auto& c : cs) hs.push_back(s.attach(&c));
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) s.schedule(hs[(t + i) % kClients]);
    });
  }
  for (auto& t : ts) t.join();
  for (int i = 0; i < kClients; ++i) {
    const int before = cs[i].runs();
    s.schedule(hs[i]);
    // A schedule after the flood always leads to one more run.
    ASSERT_TRUE(cs[i].wait_runs(before + 1));
    s.detach(hs[i]);
    EXPECT_FALSE(cs[i].overlapped()) << "client " << i;
  }
}

TEST(FlushScheduler, DetachWaitsForTheRunInProgressAndNothingRunsAfter) {
  FlushScheduler s(1);
  FakeClient c, sentinel;
  auto h = s.attach(&c);
  auto hs = s.attach(&sentinel);
  c.hold();
  s.schedule(h);
  ASSERT_TRUE(c.wait_runs(1));
  s.schedule(h);  // a rerun is pending when detach comes
  auto detached = std::async(std::launch::async, [&] { s.detach(h); });
  EXPECT_EQ(detached.wait_for(100ms), std::future_status::timeout) << "detach returned during a run";
  c.release();
  ASSERT_EQ(detached.wait_for(10s), std::future_status::ready);
  s.schedule(h);  // after detach: ignored
  s.schedule_at(h, FlushScheduler::Clock::now());
  // One thread, FIFO: once the sentinel ran, anything queued before it did too.
  s.schedule(hs);
  ASSERT_TRUE(sentinel.wait_runs(1));
  s.detach(hs);
  EXPECT_EQ(c.runs(), 1);
}

TEST(FlushScheduler, TimerRunsNoEarlierThanItsDeadlineAndTheEarliestWins) {
  FlushScheduler s(1);
  FakeClient c;
  auto h = s.attach(&c);
  const auto t0 = FlushScheduler::Clock::now();
  s.schedule_at(h, t0 + 300ms);
  s.schedule_at(h, t0 + 50ms);   // earlier: replaces
  s.schedule_at(h, t0 + 200ms);  // later: the earlier one is kept
  ASSERT_TRUE(c.wait_runs(1));
  const auto ran = FlushScheduler::Clock::now();
  EXPECT_GE(ran - t0, 50ms);
  EXPECT_LT(ran - t0, 200ms + 5s);  // generous: only "it ran, not never" on a loaded machine
  s.detach(h);
  EXPECT_EQ(c.runs(), 1);  // one timer per client
}

TEST(FlushScheduler, ServesManyClientsWithItsFixedThreads) {
  const std::size_t before = thread_count();
  FlushScheduler s(2);
  EXPECT_LE(thread_count(), before + 2);
  constexpr int kClients = 200;
  std::vector<FakeClient> cs(kClients);
  std::vector<FlushScheduler::Handle> hs;
  for (auto& c : cs) hs.push_back(s.attach(&c));
  for (auto& h : hs) s.schedule(h);
  std::set<std::thread::id> seen;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(cs[i].wait_runs(1)) << "client " << i;
    s.detach(hs[i]);
    for (auto id : cs[i].threads()) seen.insert(id);
  }
  EXPECT_LE(seen.size(), 2u);
  EXPECT_LE(thread_count(), before + 2);
}

TEST(FlushSchedulerLogs, ManyLogsShareTheDefaultPoolInsteadOfAThreadEach) {
  TempDir dir(test::memory_dir());
  const std::size_t before = thread_count();
  std::vector<std::unique_ptr<PartitionLog>> logs;
  LogConfig c;
  c.segment_bytes = 64 * 1024;
  c.flush.mode = FlushPolicy::Mode::every_append;
  for (int i = 0; i < 100; ++i) logs.push_back(PartitionLog::open(dir / ("p" + std::to_string(i)), c));
  EXPECT_LE(thread_count(), before + FlushScheduler::default_threads());
  for (int i = 0; i < 100; ++i) {
    auto b = make_batch(static_cast<std::uint64_t>(i));
    auto info = logs[i]->append(b);
    ASSERT_TRUE(info);
    ASSERT_TRUE(logs[i]->wait_flushed(info->last_offset));
    EXPECT_EQ(logs[i]->flushed_offset(), 1);
  }
  logs.clear();
  EXPECT_LE(settled_thread_count(before), before) << "the shared pool outlived its last log";
}

TEST(FlushSchedulerLogs, IntervalPolicySyncsByTimeWithoutARequest) {
  TempDir dir(test::memory_dir());
  LogConfig c;
  c.segment_bytes = 64 * 1024;
  c.flush.mode = FlushPolicy::Mode::interval;
  c.flush.ms = 20;
  auto log = PartitionLog::open(dir.path(), c);
  for (int round = 0; round < 3; ++round) {  // the timer re-arms after each flush
    auto b = make_batch(static_cast<std::uint64_t>(round));
    // Before the append: the timer is armed after t0 whatever the scheduler
    // does to this thread, so a sync before t0 + flush.ms is an early one.
    const auto t0 = std::chrono::steady_clock::now();
    auto info = log->append(b);
    ASSERT_TRUE(info);
    while (log->flushed_offset() <= info->last_offset && std::chrono::steady_clock::now() - t0 < 10s) {
      std::this_thread::sleep_for(1ms);  // polling an observable, bounded
    }
    EXPECT_GT(log->flushed_offset(), info->last_offset) << "round " << round;
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms) << "round " << round << ": synced before flush.ms";
  }
}

TEST(FlushSchedulerLogs, IntervalPolicySyncsEveryNMessages) {
  TempDir dir(test::memory_dir());
  LogConfig c;
  c.segment_bytes = 64 * 1024;
  c.flush.mode = FlushPolicy::Mode::interval;
  c.flush.messages = 5;
  auto log = PartitionLog::open(dir.path(), c);
  for (int i = 0; i < 4; ++i) {
    auto b = make_batch(static_cast<std::uint64_t>(i));
    ASSERT_TRUE(log->append(b));
  }
  auto fifth = make_batch(4);
  auto info = log->append(fifth);
  ASSERT_TRUE(info);
  const auto t0 = std::chrono::steady_clock::now();
  while (log->flushed_offset() < 5 && std::chrono::steady_clock::now() - t0 < 10s) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(log->flushed_offset(), 5);
}

// fork() while the parent has the shared pool: the child's logs must get a
// pool with live threads, not the parent's (whose threads the child lacks).
TEST(FlushSchedulerLogs, AChildOfForkGetsItsOwnSharedPool) {
  TempDir dir(test::memory_dir());
  LogConfig c;
  c.segment_bytes = 64 * 1024;
  c.flush.mode = FlushPolicy::Mode::every_append;
  auto parent_log = PartitionLog::open(dir / "parent", c);  // the shared pool exists now
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(20);  // a hang (no flusher) ends as SIGALRM, not a stuck test
    auto log = PartitionLog::open(dir / "child", c);
    auto b = make_batch(7);
    auto info = log->append(b);
    if (!info || !log->wait_flushed(info->last_offset)) ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto b = make_batch(8);
  auto info = parent_log->append(b);
  ASSERT_TRUE(info);
  EXPECT_TRUE(parent_log->wait_flushed(info->last_offset));  // the parent's pool still works
}

TEST(FlushSchedulerSegment, PrefaultGoesInChunks) {
  TempDir dir(test::memory_dir());
  LogSegment::Options o;
  o.write_mode = WriteMode::mmap;
  o.segment_bytes = 8u << 20;
  auto seg = LogSegment::create(dir.path(), 0, o);
  int calls = 1;
  const bool first = seg->prefault(2u << 20);
  if (!first) GTEST_SKIP() << "MADV_POPULATE_WRITE unsupported here";
  while (seg->prefault(2u << 20)) ++calls;
  EXPECT_EQ(calls + 1, 4);  // 8 MiB in 2 MiB chunks: three "more" and a last one
  EXPECT_FALSE(seg->prefault(2u << 20));
}

// Many logs opened, appended to and closed concurrently on one small pool,
// with flush notifications still pending at close: every callback runs
// exactly once, nothing runs on a closed log (ASan/UBSan in CI), and what
// was acknowledged durable is there after reopening.
TEST(FlushSchedulerLogs, ConcurrentOpenAppendCloseOfManyLogs) {
  TempDir dir(test::memory_dir());
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kCycles = 15;
#else
  constexpr int kCycles = 100;
#endif
  constexpr int kThreads = 4;
  auto pool = std::make_shared<FlushScheduler>(2);
  std::atomic<int> callbacks{0}, registered{0}, failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int cycle = 0; cycle < kCycles; ++cycle) {
        const auto path = dir / ("t" + std::to_string(t) + "-" + std::to_string(cycle % 5));
        LogConfig c;
        c.segment_bytes = 16 * 1024;  // rolls often
        c.write_mode = cycle % 2 == 0 ? WriteMode::pwrite : WriteMode::mmap;
        c.flush.mode = cycle % 3 == 0 ? FlushPolicy::Mode::interval : FlushPolicy::Mode::every_append;
        c.flush.ms = 1;
        c.flush_scheduler = pool;
        auto log = PartitionLog::open(path, c);
        const std::int64_t start = log->log_end_offset();
        std::int64_t acked = -1;
        for (int i = 0; i < 20; ++i) {
          auto b = make_batch(static_cast<std::uint64_t>(t * 100000 + cycle * 100 + i), 2, 300);
          auto info = log->append(b);
          if (!info) {
            failures++;
            break;
          }
          registered++;
          log->request_flush_notification(info->last_offset, [&](const LogResult<void>& r) {
            callbacks++;
            if (!r && r.error().kind != LogErrc::closed) failures++;
          });
          if (i == 10) {
            if (!log->wait_flushed(info->last_offset)) failures++;
            acked = info->last_offset;
          }
        }
        log.reset();  // close with notifications possibly pending
        auto again = PartitionLog::open(path, c);
        if (again->log_end_offset() <= acked || again->log_end_offset() != start + 40) failures++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(callbacks.load(), registered.load());
}

}  // namespace
}  // namespace nocopy::log
