// Log compaction: a randomized model test, crash injection at every step of
// a clean and swap (a child process SIGKILLed there), and readers during swaps.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "io/mapping_read_guard.h"
#include "log/cleaner_swap.h"
#include "log/log_cleaner.h"
#include "log/partition_log.h"
#include "cleaner_test_util.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::TempDir;
using namespace cleaner_test;

TEST(LogCleaner, RandomPutsAndDeletesMatchTheModel) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  auto model = fill(*log, &now, 10'000, 6'000, 42);
  ASSERT_TRUE(log->roll().has_value());
  const std::size_t before = log->segment_count();
  ASSERT_GT(before, 20u);
  const std::uint64_t size_before = log->size_bytes();

  // Tombstones written in the first half are older than delete.retention.ms.
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  cfg.delete_retention_ms = 3'000;
  cfg.max_group_bytes = 256 * 1024;
  auto st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(st->segments_cleaned, before - 1) << st->records_read << " read, " << st->records_kept << " kept, " << st->keys << " keys, " << st->tombstones_dropped << " tombstones dropped";
  EXPECT_GT(st->tombstones_dropped, 0u);
  EXPECT_LT(log->size_bytes(), size_before);
  EXPECT_LE(log->segment_count(), before);  // groups merge only what fits in one segment
  expect_compacted(*log, model, now, cfg.delete_retention_ms);

  // More writes, then a clean much later: every tombstone is past retention.
  auto more = fill(*log, &now, 10'000, 1'500, 43);
  for (auto& [k, v] : more) model[k] = v;
  ASSERT_TRUE(log->roll().has_value());
  now += 10'000;
  st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  expect_compacted(*log, model, now, cfg.delete_retention_ms);

  // Reopened after a clean shutdown, and after a crash (every segment scanned).
  log->close();
  log = PartitionLog::open(dir.path(), small_config(&now));
  expect_compacted(*log, model, now, cfg.delete_retention_ms);
  reopen_after_crash(log, dir, &now);
  expect_compacted(*log, model, now, cfg.delete_retention_ms);
  // Appends carry on after the last offset.
  auto info = log->append(*std::make_unique<std::vector<std::byte>>(batch_of({{"key-1", "after"}}, now)));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->base_offset, log->log_end_offset() - 1);
}

TEST(LogCleaner, ActiveSegmentAndRecentSegmentsAreNotCleaned) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  fill(*log, &now, 50, 3'000, 7);
  const auto bases = log->segment_base_offsets();
  ASSERT_GT(bases.size(), 3u);
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  cfg.min_compaction_lag_ms = now;  // nothing is old enough
  auto st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->segments_cleaned, 0u);
  EXPECT_EQ(log->segment_base_offsets(), bases);
  cfg.min_compaction_lag_ms = 0;
  const std::int64_t active_base = bases.back();
  const std::uint64_t active_size = log->sealed_segments().size();
  st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->segments_cleaned, active_size);
  EXPECT_EQ(log->segment_base_offsets().back(), active_base);
}

// The headers of every batch of the log, in order.
std::vector<BatchHeader> headers(const PartitionLog& log) {
  std::vector<BatchHeader> out;
  auto r = log.read(log.log_start_offset(), 1 << 22);
  EXPECT_TRUE(r.has_value());
  const auto bytes = test::read_regions(r->regions);
  for (std::size_t pos = 0; bytes.size() - pos >= kBatchHeaderSize;) {
    auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos), true, {}, UINT64_MAX, false);
    EXPECT_TRUE(h.has_value()) << "at byte " << pos;
    if (!h) break;
    out.push_back(*h);
    pos += h->total_size();
  }
  return out;
}

TEST(LogCleaner, IdempotentProducersKeepTheirLastBatchEvenEmpty) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  for (int i = 0; i < 5; ++i) {
    auto b = BatchBuilder().timestamp(now).producer(77, 0, i).add("k", "v" + std::to_string(i)).build();
    ASSERT_TRUE(log->append(b).has_value());
  }
  auto b88 = BatchBuilder().timestamp(now).producer(88, 3, 10).add("x", "1").add("k", "88").build();
  ASSERT_TRUE(log->append(b88).has_value());
  auto b = BatchBuilder().timestamp(now).add("k", "plain").build();
  ASSERT_TRUE(log->append(b).has_value());
  ASSERT_TRUE(log->roll().has_value());
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  auto st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(st->empty_batches_kept, 1u);
  auto check = [&] {
    auto recs = read_all(*log);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].offset, 5);
    EXPECT_EQ(recs[0].value, "1");
    EXPECT_EQ(recs[1].offset, 7);
    EXPECT_EQ(recs[1].value, "plain");
    auto hs = headers(*log);
    ASSERT_EQ(hs.size(), 3u);
    // Producer 77's last batch: no record left, its header (sequence) kept.
    EXPECT_EQ(hs[0].base_offset, 4);
    EXPECT_EQ(hs[0].records_count, 0);
    EXPECT_EQ(hs[0].producer_id, 77);
    EXPECT_EQ(hs[0].base_sequence, 4);
    EXPECT_EQ(hs[0].last_offset_delta, 0);
    // Producer 88's: one of two records left, its last offset kept.
    EXPECT_EQ(hs[1].base_offset, 5);
    EXPECT_EQ(hs[1].records_count, 1);
    EXPECT_EQ(hs[1].last_offset_delta, 1);
    EXPECT_EQ(hs[1].producer_id, 88);
    EXPECT_EQ(hs[1].base_sequence, 10);
  };
  check();
  // A follower replicating the cleaned log takes its batches as they are
  // (records_count below lastOffsetDelta + 1, down to 0).
  {
    TempDir fdir(test::memory_dir());
    auto follower = PartitionLog::open(fdir.path(), small_config(&now));
    auto r = log->read(log->log_start_offset(), 1 << 22);
    ASSERT_TRUE(r.has_value());
    auto bytes = test::read_regions(r->regions);
    auto a = follower->append_replicated(bytes);
    ASSERT_TRUE(a.has_value()) << a.error().message;
    EXPECT_EQ(follower->log_end_offset(), log->log_end_offset());
    EXPECT_EQ(headers(*follower).size(), 3u);
  }
  // Recovery accepts the empty batch (every segment scanned after a crash).
  reopen_after_crash(log, dir, &now);
  check();
}

TEST(LogCleaner, ReadersKeepWorkingWhileSegmentsAreSwapped) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  fill(*log, &now, 300, 4'000, 11);
  ASSERT_TRUE(log->roll().has_value());
  // Regions taken before the swap stay readable after it.
  auto early = log->read(0, 1 << 20);
  ASSERT_TRUE(early.has_value());
  const std::vector<std::byte> early_bytes = test::read_regions(early->regions);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> failures{0};
  std::thread reader([&] {
    std::mt19937_64 rng(5);
    while (!stop.load()) {
      const std::int64_t end = log->log_end_offset();
      const std::int64_t at = log->log_start_offset() + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(end));
      auto r = log->read(std::min(at, end), 16 * 1024);
      if (!r) {
        ++failures;
        continue;
      }
      auto bytes = test::read_regions(r->regions);
      if (!bytes.empty()) {
        auto h = validate_batch(bytes, true, {}, UINT64_MAX, false);
        if (!h || h->last_offset() < std::min(at, end)) ++failures;
      }
      ++reads;
    }
  });
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  cfg.max_group_bytes = 64 * 1024;  // one swap per segment: many swaps
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(LogCleaner::clean(*log, cfg).has_value());
  }
  while (reads.load() < 2000) std::this_thread::yield();
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(test::read_regions(early->regions), early_bytes);
}

TEST(LogCleaner, ASegmentTruncatedWhileCleaningFailsTheCleanNotTheProcess) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  fill(*log, &now, 300, 3'000, 17);
  ASSERT_TRUE(log->roll().has_value());
  const auto first = log->sealed_segments().front();
  ASSERT_GT(first->committed().size, 16'384u);
  const auto path = dir / fmt::format("{:020d}.log", first->base_offset());
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  bool truncated = false;
  // Polled before each batch, after the segments are mapped: cut the first
  // segment under its mapping at the first poll.
  cfg.cancelled = [&] {
    if (!truncated) {
      truncated = true;
      std::filesystem::resize_file(path, 4096);
    }
    return false;
  };
  const std::uint64_t faults = io::MappingReadGuard::faults_absorbed();
  auto st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(truncated);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().kind, LogErrc::storage_error);
  EXPECT_NE(st.error().message.find("truncated under the cleaner"), std::string::npos) << st.error().message;
  EXPECT_GT(io::MappingReadGuard::faults_absorbed(), faults);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_FALSE(e.path().string().ends_with(".cleaned")) << e.path();
}

// --- crash injection ---------------------------------------------------------

// The crash test's logs: written in 64 KiB segments, cleaned (and reopened)
// with a segment.bytes that lets the cleaner merge all of them into one.
LogConfig one_group_config(std::int64_t* now) {
  LogConfig c = small_config(now);
  c.segment_bytes = 8 << 20;
  return c;
}

// Runs in a child process: cleans the log in $NOCOPY_CLEANER_CRASH_DIR and
// SIGKILLs itself after step number $NOCOPY_CLEANER_CRASH_STEP.
TEST(LogCleanerCrash, DISABLED_Child) {
  const char* d = std::getenv("NOCOPY_CLEANER_CRASH_DIR");
  const char* s = std::getenv("NOCOPY_CLEANER_CRASH_STEP");
  ASSERT_TRUE(d != nullptr && s != nullptr);
  std::int64_t now = 2'000'000;
  auto log = PartitionLog::open(d, one_group_config(&now));
  int left = std::atoi(s);
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  cfg.hook = [&](std::string_view) {
    if (left-- == 0) ::kill(::getpid(), SIGKILL);
  };
  ASSERT_TRUE(LogCleaner::clean(*log, cfg).has_value());
  ::kill(::getpid(), SIGKILL);  // never a clean shutdown
}

void copy_dir(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::create_directories(to);
  for (const auto& e : std::filesystem::directory_iterator(from)) {
    std::filesystem::copy_file(e.path(), to / e.path().filename(), std::filesystem::copy_options::overwrite_existing);
  }
}

TEST(LogCleanerCrash, EveryStepLeavesTheOldOrTheNewSegments) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  std::vector<Rec> old_recs, new_recs;
  std::vector<std::int64_t> old_bases, new_bases;
  {
    auto log = PartitionLog::open(dir / "src", small_config(&now));
    fill(*log, &now, 400, 2'500, 3);
    ASSERT_TRUE(log->roll().has_value());
    old_recs = read_all(*log);
    old_bases = log->segment_base_offsets();
    log->close();
  }
  {
    copy_dir(dir / "src", dir / "ref");
    std::int64_t later = 2'000'000;
    auto log = PartitionLog::open(dir / "ref", one_group_config(&later));
    CleanerConfig cfg;
    cfg.clock = [&] { return later; };
    ASSERT_TRUE(LogCleaner::clean(*log, cfg).has_value());
    new_recs = read_all(*log);
    new_bases = log->segment_base_offsets();
    ASSERT_LT(new_recs.size(), old_recs.size());
    ASSERT_EQ(new_bases.size(), 2u);  // one cleaned segment + the active one
  }
  const int kSteps = 6 + static_cast<int>(old_bases.size() - 1);  // see the hook calls
  bool saw_old = false, saw_new = false;
  for (int step = 0; step <= kSteps; ++step) {
    const auto work = dir / ("crash-" + std::to_string(step));
    copy_dir(dir / "src", work);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setenv("NOCOPY_CLEANER_CRASH_DIR", work.c_str(), 1);
      ::setenv("NOCOPY_CLEANER_CRASH_STEP", std::to_string(step).c_str(), 1);
      ::execl("/proc/self/exe", "test_log", "--gtest_also_run_disabled_tests",
              "--gtest_filter=LogCleanerCrash.DISABLED_Child", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "step " << step << " status " << status;
    std::int64_t t = 2'000'000;
    auto log = PartitionLog::open(work, one_group_config(&t));
    auto recs = read_all(*log);
    auto bases = log->segment_base_offsets();
    const bool is_old = recs == old_recs && bases == old_bases;
    const bool is_new = recs == new_recs && bases == new_bases;
    // Steps 0 and 1 come before the commit point (the .log's rename to .swap).
    if (step < 2) {
      EXPECT_TRUE(is_old) << "step " << step << " (before the commit) did not roll back";
    } else {
      EXPECT_TRUE(is_new) << "step " << step << " (after the commit) was not completed";
    }
    EXPECT_TRUE(is_old || is_new) << "step " << step << ": " << recs.size() << " records, " << bases.size()
                                  << " segments";
    EXPECT_FALSE(log->recovery_report().mid_log_corruption) << "step " << step;
    saw_old |= is_old;
    saw_new |= is_new;
    for (const auto& e : std::filesystem::directory_iterator(work)) {
      const std::string name = e.path().filename().string();
      EXPECT_FALSE(name.ends_with(".cleaned") || name.ends_with(".swap") || name.ends_with(".deleted"))
          << "step " << step << ": " << name << " left over";
    }
    log->close();
    std::filesystem::remove_all(work);
  }
  EXPECT_TRUE(saw_old);
  EXPECT_TRUE(saw_new);
}

}  // namespace
}  // namespace nocopy::log
