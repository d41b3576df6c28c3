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

#include "log/cleaner_swap.h"
#include "log/log_cleaner.h"
#include "log/partition_log.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::TempDir;

struct Rec {
  std::int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::int64_t timestamp;
  bool operator==(const Rec&) const = default;
};

LogConfig small_config(std::int64_t* now) {
  LogConfig c;
  c.segment_bytes = 64 * 1024;
  c.index_interval_bytes = 512;
  c.retention_ms = -1;
  c.sync_zero_fill_bytes = 0;
  c.clock = [now] { return *now; };
  return c;
}

// Every record of the log, in order, through read(); checks each batch's CRC.
std::vector<Rec> read_all(const PartitionLog& log) {
  std::vector<Rec> out;
  std::int64_t at = log.log_start_offset();
  while (at < log.log_end_offset()) {
    auto r = log.read(at, 1 << 20);
    EXPECT_TRUE(r.has_value());
    if (!r) break;
    std::vector<std::byte> bytes = test::read_regions(r->regions);
    std::size_t pos = 0;
    std::int64_t next = at;
    while (bytes.size() - pos >= kBatchHeaderSize) {
      auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos), true, {}, UINT64_MAX, false);
      if (!h) break;  // a partial batch at the end of a read
      auto recs = parse_records(std::span<const std::byte>(bytes).subspan(pos, h->total_size()));
      EXPECT_TRUE(recs.has_value());
      for (const Record& rec : *recs) {
        const std::int64_t off = h->base_offset + rec.offset_delta;
        if (off >= at) out.push_back({off, rec.key, rec.value, h->base_timestamp + rec.timestamp_delta});
      }
      next = h->last_offset() + 1;
      pos += h->total_size();
    }
    if (r->regions.empty()) {
      // Compaction may leave a gap at the end of the sealed segments with an
      // empty active segment after it: nothing more to read.
      EXPECT_EQ(log.segment_base_offsets().back(), log.log_end_offset()) << "nothing to read at " << at;
      break;
    }
    if (next == at) {
      ADD_FAILURE() << "no progress reading at " << at;
      break;
    }
    at = next;
  }
  return out;
}

std::vector<std::byte> batch_of(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops,
                                std::int64_t ts) {
  BatchBuilder b;
  b.timestamp(ts);
  for (const auto& [k, v] : ops) b.add(k, v);
  return b.build();
}

// Fills `log` with random puts and deletes over `keys` keys; returns the
// model: key -> (offset, value or tombstone, timestamp) of its last write.
struct Last {
  std::int64_t offset;
  std::optional<std::string> value;
  std::int64_t ts;
};
std::map<std::string, Last> fill(PartitionLog& log, std::int64_t* now, int keys, int batches, std::uint64_t seed) {
  std::map<std::string, Last> model;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < batches; ++i) {
    *now += 1;
    std::vector<std::pair<std::string, std::optional<std::string>>> ops;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int j = 0; j < n; ++j) {
      std::string k = "key-" + std::to_string(rng() % static_cast<std::uint64_t>(keys));
      std::optional<std::string> v;
      if (rng() % 8 != 0) v = "value-" + std::to_string(i) + "-" + std::to_string(j);
      ops.emplace_back(std::move(k), std::move(v));
    }
    auto batch = batch_of(ops, *now);
    auto info = log.append(batch);
    EXPECT_TRUE(info.has_value());
    for (int j = 0; j < n; ++j) model[ops[j].first] = {info->base_offset + j, ops[j].second, *now};
  }
  return model;
}

// The log holds exactly the model's last write per key, tombstones only when
// younger than `retention` at `now`; offsets strictly increase.
void expect_compacted(const PartitionLog& log, const std::map<std::string, Last>& model, std::int64_t now,
                      std::int64_t retention) {
  std::vector<Rec> recs = read_all(log);
  std::map<std::string, Rec> seen;
  std::int64_t prev = -1;
  for (const Rec& r : recs) {
    ASSERT_GT(r.offset, prev);
    prev = r.offset;
    ASSERT_TRUE(r.key.has_value());
    ASSERT_TRUE(seen.emplace(*r.key, r).second) << "key " << *r.key << " appears twice";
  }
  for (const auto& [k, last] : model) {
    auto it = seen.find(k);
    const bool expired_tombstone = !last.value && last.ts < now - retention;
    if (expired_tombstone) {
      EXPECT_EQ(it, seen.end()) << k << ": a tombstone older than delete.retention.ms survived";
      continue;
    }
    ASSERT_NE(it, seen.end()) << k << " lost: offset " << last.offset << " tombstone " << !last.value << " ts " << last.ts << " now " << now << " records " << recs.size() << " last rec " << (recs.empty() ? -1 : recs.back().offset);
    EXPECT_EQ(it->second.offset, last.offset) << k;
    EXPECT_EQ(it->second.value, last.value) << k;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(std::count_if(model.begin(), model.end(), [&](const auto& e) {
              return e.second.value || e.second.ts >= now - retention;
            })));
  // Index lookups: every retained offset is found in the batch holding it.
  for (std::size_t i = 0; i < recs.size(); i += 7) {
    auto r = log.read(recs[i].offset, 1);
    ASSERT_TRUE(r.has_value());
    auto bytes = test::read_regions(r->regions);
    ASSERT_GE(bytes.size(), kBatchHeaderSize);
    BatchHeader h = parse_batch_header(bytes);
    EXPECT_LE(h.base_offset, recs[i].offset);
    EXPECT_GE(h.last_offset(), recs[i].offset);
  }
}

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
  log->close();
  log.reset();
  std::filesystem::remove(dir / ".clean_shutdown");
  std::filesystem::remove(dir / "recovery-point-offset-checkpoint");
  log = PartitionLog::open(dir.path(), small_config(&now));
  EXPECT_FALSE(log->recovery_report().mid_log_corruption);
  EXPECT_EQ(log->recovery_report().bytes_truncated, 0u);
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

TEST(LogCleaner, IdempotentProducersKeepTheirLastBatch) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  for (int i = 0; i < 5; ++i) {
    auto b = BatchBuilder().timestamp(now).producer(77, 0, i).add("k", "v" + std::to_string(i)).build();
    ASSERT_TRUE(log->append(b).has_value());
  }
  auto b = BatchBuilder().timestamp(now).add("k", "plain").build();
  ASSERT_TRUE(log->append(b).has_value());
  ASSERT_TRUE(log->roll().has_value());
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  ASSERT_TRUE(LogCleaner::clean(*log, cfg).has_value());
  auto recs = read_all(*log);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].offset, 4);  // producer 77's last batch
  EXPECT_EQ(recs[0].value, "v4");
  EXPECT_EQ(recs[1].offset, 5);
  EXPECT_EQ(recs[1].value, "plain");
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
