// Randomized operations against a trivial in-memory model: appends, reads at
// random offsets with random limits, rolls, retention passes, timestamp
// lookups and reopen cycles (clean and unclean). Every read must match the
// model byte for byte.
#include <gtest/gtest.h>

#include <random>

#include "log/partition_log.h"
#include "log/record_batch.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::read_regions;
using test::TempDir;

#if defined(__SANITIZE_ADDRESS__)
constexpr int kOps = 1000;
#else
constexpr int kOps = 5000;
#endif

struct ModelBatch {
  std::vector<std::byte> bytes;  // with the assigned baseOffset
  std::int64_t base = 0, last = 0;
  std::vector<std::int64_t> record_ts;
};

struct RandomOpsCase {
  WriteMode mode;
  bool map_for_reads;  // false: every lookup preads the headers it hops over
  const char* name;
};

class RandomOps : public ::testing::TestWithParam<RandomOpsCase> {};

TEST_P(RandomOps, LogMatchesModel) {
  TempDir dir(test::memory_dir());  // logic test: tmpfs keeps fsync out of the run time
  LogConfig c;
  c.write_mode = GetParam().mode;
  c.map_for_reads = GetParam().map_for_reads;
  c.segment_bytes = 12 * 1024;
  c.index_interval_bytes = 256;
  c.retention_bytes = 40 * 1024;
  c.retention_ms = -1;
  auto log = PartitionLog::open(dir.path(), c);
  std::vector<ModelBatch> model;  // batches still in the log, in order
  std::mt19937_64 rng(GetParam().mode == WriteMode::pwrite ? 1 : 2);
  std::int64_t ts = 1'000'000;
  std::int64_t next_offset = 0;
  int reads = 0, appends = 0, reopens = 0, retention_deletes = 0, rejected = 0;

  auto check_read = [&](std::int64_t offset, std::uint64_t max_bytes) {
    auto r = log->read(offset, max_bytes);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->high_watermark, next_offset);
    std::vector<std::byte> expect;
    std::size_t i = 0;
    while (i < model.size() && model[i].last < offset) ++i;
    if (i < model.size()) {
      std::uint64_t limit = std::max<std::uint64_t>(max_bytes, model[i].bytes.size());
      for (; i < model.size() && expect.size() < limit; ++i) {
        expect.insert(expect.end(), model[i].bytes.begin(), model[i].bytes.end());
      }
      if (expect.size() > limit) expect.resize(limit);
    }
    ASSERT_EQ(r->bytes, expect.size()) << "offset " << offset << " max " << max_bytes;
    ASSERT_EQ(read_regions(r->regions), expect) << "offset " << offset << " max " << max_bytes;
    ++reads;
  };

  for (int op = 0; op < kOps; ++op) {
    const int dice = static_cast<int>(rng() % 100);
    if (dice < 50) {
      // Append 1..3 batches as one request.
      std::vector<std::byte> req;
      std::vector<ModelBatch> added;
      const int nb = 1 + static_cast<int>(rng() % 3);
      std::int64_t off = next_offset;
      for (int b = 0; b < nb; ++b) {
        BatchBuilder bb;
        ts += static_cast<std::int64_t>(rng() % 50);
        bb.timestamp(ts);
        ModelBatch m;
        const int nr = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < nr; ++k) {
          std::int64_t d = static_cast<std::int64_t>(rng() % 20);
          std::string v(rng() % 1500, static_cast<char>('A' + rng() % 26));
          bb.add(std::to_string(rng()), std::move(v), {}, d);
          m.record_ts.push_back(ts + d);
        }
        m.bytes = bb.build();
        store_be64(m.bytes.data(), off);
        m.base = off;
        m.last = off + nr - 1;
        off = m.last + 1;
        auto plain = bb.build();
        req.insert(req.end(), plain.begin(), plain.end());
        added.push_back(std::move(m));
      }
      const bool corrupt = rng() % 50 == 0;
      if (corrupt) req[req.size() - 1 - rng() % 40] ^= std::byte{0x01};
      auto info = log->append(req);
      if (corrupt) {
        ASSERT_FALSE(info);
        ASSERT_EQ(info.error().kind, LogErrc::corrupt_message) << info.error().to_string();
        ASSERT_EQ(log->log_end_offset(), next_offset);
        ++rejected;
        continue;
      }
      if (req.size() > c.segment_bytes) {
        // A request must fit in one segment: rejected whole, nothing appended.
        ASSERT_FALSE(info);
        ASSERT_EQ(info.error().kind, LogErrc::record_list_too_large);
        ASSERT_EQ(log->log_end_offset(), next_offset);
        ++rejected;
        continue;
      }
      ASSERT_TRUE(info) << info.error().to_string();
      ASSERT_EQ(info->base_offset, next_offset);
      ASSERT_EQ(info->last_offset, off - 1);
      next_offset = off;
      for (auto& m : added) model.push_back(std::move(m));
      ++appends;
    } else if (dice < 80) {
      if (model.empty()) continue;
      std::int64_t lo = model.front().base;
      std::int64_t offset = lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(next_offset - lo + 1));
      std::uint64_t max_bytes = rng() % 3 == 0 ? rng() % 200 : rng() % 30000;
      check_read(offset, max_bytes);
    } else if (dice < 85) {
      ASSERT_TRUE(log->roll());
    } else if (dice < 90) {
      auto r = log->enforce_retention();
      ASSERT_TRUE(r);
      std::int64_t start = log->log_start_offset();
      std::size_t drop = 0;
      while (drop < model.size() && model[drop].last < start) ++drop;
      if (drop < model.size()) {
        ASSERT_EQ(model[drop].base, start) << "log start must be a batch boundary";
      }
      model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(drop));
      retention_deletes += static_cast<int>(r->segments_deleted);
      if (!model.empty()) {
        auto below = log->read(start - 1, 10);
        if (start > 0) {
          ASSERT_FALSE(below);
          EXPECT_EQ(below.error().kind, LogErrc::offset_out_of_range);
        }
      }
    } else if (dice < 95) {
      // Timestamp lookup against the model.
      std::int64_t target = 1'000'000 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(ts - 1'000'000 + 30));
      std::optional<std::int64_t> expect;
      for (const auto& m : model) {
        for (std::size_t k = 0; k < m.record_ts.size(); ++k) {
          if (m.record_ts[k] >= target) {
            expect = m.base + static_cast<std::int64_t>(k);
            break;
          }
        }
        if (expect) break;
      }
      ASSERT_EQ(log->offset_for_timestamp(target), expect) << "ts " << target;
    } else {
      // Reopen: clean, or unclean (marker and recovery point removed: full scan).
      const bool unclean = rng() % 2 == 0;
      log->close();
      log.reset();
      if (unclean) {
        std::filesystem::remove(dir / ".clean_shutdown");
        std::filesystem::remove(dir / "recovery-point-offset-checkpoint");
      }
      log = PartitionLog::open(dir.path(), c);
      ASSERT_FALSE(log->recovery_report().mid_log_corruption);
      ASSERT_EQ(log->recovery_report().bytes_truncated, 0u);
      ASSERT_EQ(log->log_end_offset(), next_offset);
      if (!model.empty()) {
        ASSERT_EQ(log->log_start_offset(), model.front().base);
      }
      ++reopens;
    }
  }
  // Final full comparison.
  if (!model.empty()) check_read(model.front().base, 1ull << 40);
  EXPECT_GT(appends, kOps / 3);
  EXPECT_GT(reads, kOps / 5);
  EXPECT_GT(reopens, 0);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(retention_deletes, 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, RandomOps,
                         ::testing::Values(RandomOpsCase{WriteMode::pwrite, true, "pwrite"},
                                           RandomOpsCase{WriteMode::pwrite, false, "pwrite_pread_lookups"},
                                           RandomOpsCase{WriteMode::mmap, true, "mmap"},
                                           RandomOpsCase{WriteMode::mmap, false, "mmap_pread_lookups"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace nocopy::log
