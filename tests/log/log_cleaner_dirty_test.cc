// Log compaction of the dirty section only: the offset map is built from the
// cleaner checkpoint on, already cleaned segments nobody superseded are not
// rewritten, and a bounded map cleans a large dirty section over passes.
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cleaner_test_util.h"
#include "log/log_cleaner.h"
#include "log/offset_map.h"
#include "log/partition_log.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::TempDir;
using namespace cleaner_test;

// The inode of each sealed segment's .log file, by base offset.
std::map<std::int64_t, ino_t> inodes(const PartitionLog& log) {
  std::map<std::int64_t, ino_t> out;
  for (const auto& s : log.sealed_segments()) {
    struct stat st {};
    const auto path = log.dir() / fmt::format("{:020d}.log", s->base_offset());
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    out[s->base_offset()] = st.st_ino;
  }
  return out;
}

// Appends `batches` batches of 8 records over the keys prefix-0..prefix-(keys-1).
void put_keys(PartitionLog& log, std::int64_t* now, std::map<std::string, Last>& model, const std::string& prefix,
              int keys, int batches) {
  for (int i = 0; i < batches; ++i) {
    *now += 1;
    std::vector<std::pair<std::string, std::optional<std::string>>> ops;
    for (int j = 0; j < 8; ++j) ops.emplace_back(prefix + std::to_string((i * 8 + j) % keys), "v" + std::to_string(i));
    auto b = batch_of(ops, *now);
    auto info = log.append(b);
    ASSERT_TRUE(info.has_value());
    for (int j = 0; j < 8; ++j) model[ops[j].first] = {info->base_offset + j, ops[j].second, *now};
  }
}

TEST(LogCleanerDirty, CleanSegmentsNobodySupersededAreNotRewritten) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  auto model = fill(*log, &now, 10'000, 6'000, 21);
  ASSERT_TRUE(log->roll().has_value());
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  cfg.delete_retention_ms = 1'000'000'000;
  cfg.max_group_bytes = 64 * 1024;  // one cleaned segment per input segment
  auto st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  const std::int64_t e1 = st->cleaned_end;
  ASSERT_EQ(e1, log->log_end_offset());
  const auto clean_inodes = inodes(*log);
  ASSERT_GT(clean_inodes.size(), 3u);

  // New keys only: the clean section has nothing superseded.
  put_keys(*log, &now, model, "fresh-", 300, 600);
  ASSERT_TRUE(log->roll().has_value());
  cfg.first_dirty_offset = e1;
  st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_GE(st->segments_unchanged, clean_inodes.size());
  EXPECT_EQ(st->keys, 300u);  // the map holds the dirty section's keys only
  auto after = inodes(*log);
  for (const auto& [base, ino] : clean_inodes) EXPECT_EQ(after[base], ino) << "segment " << base << " was rewritten";
  expect_compacted(*log, model, now, cfg.delete_retention_ms);

  // One update of a key held by one clean segment: that segment alone is rewritten.
  const std::vector<Rec> recs = read_all(*log);
  const Rec& victim = recs[recs.size() / 4];
  std::int64_t victim_base = -1;
  for (const auto& [base, ino] : clean_inodes)
    if (base <= victim.offset) victim_base = base;
  const std::int64_t e2 = st->cleaned_end;
  auto b = batch_of({{*victim.key, "newest"}}, ++now);
  auto info = log->append(b);
  ASSERT_TRUE(info.has_value());
  model[*victim.key] = {info->base_offset, "newest", now};
  ASSERT_TRUE(log->roll().has_value());
  const auto before = inodes(*log);
  cfg.first_dirty_offset = e2;
  st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(st->segments_cleaned, 1u);
  EXPECT_EQ(st->keys, 1u);
  after = inodes(*log);
  for (const auto& [base, ino] : before) {
    if (base == victim_base) {
      EXPECT_NE(after[base], ino) << "the superseded segment " << base << " was not rewritten";
    } else {
      EXPECT_EQ(after[base], ino) << "segment " << base << " was rewritten";
    }
  }
  expect_compacted(*log, model, now, cfg.delete_retention_ms);
}

TEST(LogCleanerDirty, ABoundedMapCleansInPassesUpToWhereItFits) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  auto model = fill(*log, &now, 5'000, 3'000, 9);
  ASSERT_TRUE(log->roll().has_value());
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  cfg.delete_retention_ms = 1'000;
  // About 600 keys of ~8 bytes per pass, of 5,000.
  cfg.offset_map_bytes = 600 * (OffsetMap::kEntryOverhead + 8);
  int passes = 0;
  for (;;) {
    auto st = LogCleaner::clean(*log, cfg);
    ASSERT_TRUE(st.has_value()) << st.error().message;
    if (st->cleaned_end < 0) break;
    ASSERT_GT(st->cleaned_end, cfg.first_dirty_offset) << "no progress";
    EXPECT_LE(st->keys * (OffsetMap::kEntryOverhead + 8), cfg.offset_map_bytes + 8 * OffsetMap::kEntryOverhead);
    if (passes == 0) {
      EXPECT_TRUE(st->map_full);
    }
    cfg.first_dirty_offset = st->cleaned_end;
    ASSERT_LT(++passes, 200);
  }
  EXPECT_GT(passes, 3);
  expect_compacted(*log, model, now, cfg.delete_retention_ms);
}

}  // namespace
}  // namespace nocopy::log
