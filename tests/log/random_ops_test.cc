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

// One run: the log under test, the model it must match, and one method per
// kind of operation. Each method ASSERTs; the loop stops at a fatal failure.
class RandomOps : public ::testing::TestWithParam<RandomOpsCase> {
 protected:
  void SetUp() override {
    c_.write_mode = GetParam().mode;
    c_.map_for_reads = GetParam().map_for_reads;
    c_.segment_bytes = 12 * 1024;
    c_.index_interval_bytes = 256;
    c_.retention_bytes = 40 * 1024;
    c_.retention_ms = -1;
    log_ = PartitionLog::open(dir_.path(), c_);
    rng_.seed(GetParam().mode == WriteMode::pwrite ? 1 : 2);
  }

  void check_read(std::int64_t offset, std::uint64_t max_bytes) {
    auto r = log_->read(offset, max_bytes);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->high_watermark, next_offset_);
    std::vector<std::byte> expect;
    std::size_t i = 0;
    while (i < model_.size() && model_[i].last < offset) ++i;
    if (i < model_.size()) {
      std::uint64_t limit = std::max<std::uint64_t>(max_bytes, model_[i].bytes.size());
      for (; i < model_.size() && expect.size() < limit; ++i) {
        expect.insert(expect.end(), model_[i].bytes.begin(), model_[i].bytes.end());
      }
      if (expect.size() > limit) expect.resize(limit);
    }
    ASSERT_EQ(r->bytes, expect.size()) << "offset " << offset << " max " << max_bytes;
    ASSERT_EQ(read_regions(r->regions), expect) << "offset " << offset << " max " << max_bytes;
    ++reads_;
  }

  // One batch of 1..4 records with timestamp deltas, its model entry based at `off`.
  ModelBatch random_batch(std::int64_t off, std::vector<std::byte>& req) {
    BatchBuilder bb;
    ts_ += static_cast<std::int64_t>(rng_() % 50);
    bb.timestamp(ts_);
    ModelBatch m;
    const int nr = 1 + static_cast<int>(rng_() % 4);
    for (int k = 0; k < nr; ++k) {
      std::int64_t d = static_cast<std::int64_t>(rng_() % 20);
      std::string v(rng_() % 1500, static_cast<char>('A' + rng_() % 26));
      bb.add(std::to_string(rng_()), std::move(v), {}, d);
      m.record_ts.push_back(ts_ + d);
    }
    m.bytes = bb.build();
    store_be64(m.bytes.data(), off);
    m.base = off;
    m.last = off + nr - 1;
    auto plain = bb.build();
    req.insert(req.end(), plain.begin(), plain.end());
    return m;
  }

  // Appends 1..3 batches as one request, sometimes corrupted (rejected whole).
  void append_op() {
    std::vector<std::byte> req;
    std::vector<ModelBatch> added;
    const int nb = 1 + static_cast<int>(rng_() % 3);
    std::int64_t off = next_offset_;
    for (int b = 0; b < nb; ++b) {
      added.push_back(random_batch(off, req));
      off = added.back().last + 1;
    }
    const bool corrupt = rng_() % 50 == 0;
    if (corrupt) req[req.size() - 1 - rng_() % 40] ^= std::byte{0x01};
    auto info = log_->append(req);
    if (corrupt || req.size() > c_.segment_bytes) {
      // Corrupt, or bigger than a segment: rejected whole, nothing appended.
      ASSERT_FALSE(info);
      ASSERT_EQ(info.error().kind, corrupt ? LogErrc::corrupt_message : LogErrc::record_list_too_large)
          << info.error().to_string();
      ASSERT_EQ(log_->log_end_offset(), next_offset_);
      ++rejected_;
      return;
    }
    ASSERT_TRUE(info) << info.error().to_string();
    ASSERT_EQ(info->base_offset, next_offset_);
    ASSERT_EQ(info->last_offset, off - 1);
    next_offset_ = off;
    for (auto& m : added) model_.push_back(std::move(m));
    ++appends_;
  }

  void random_read_op() {
    if (model_.empty()) return;
    std::int64_t lo = model_.front().base;
    std::int64_t offset = lo + static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(next_offset_ - lo + 1));
    std::uint64_t max_bytes = rng_() % 3 == 0 ? rng_() % 200 : rng_() % 30000;
    check_read(offset, max_bytes);
  }

  void retention_op() {
    auto r = log_->enforce_retention();
    ASSERT_TRUE(r);
    std::int64_t start = log_->log_start_offset();
    std::size_t drop = 0;
    while (drop < model_.size() && model_[drop].last < start) ++drop;
    if (drop < model_.size()) {
      ASSERT_EQ(model_[drop].base, start) << "log start must be a batch boundary";
    }
    model_.erase(model_.begin(), model_.begin() + static_cast<std::ptrdiff_t>(drop));
    retention_deletes_ += static_cast<int>(r->segments_deleted);
    if (!model_.empty() && start > 0) {
      auto below = log_->read(start - 1, 10);
      ASSERT_FALSE(below);
      EXPECT_EQ(below.error().kind, LogErrc::offset_out_of_range);
    }
  }

  // Timestamp lookup against the model.
  void timestamp_op() {
    std::int64_t target = kTs0 + static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(ts_ - kTs0 + 30));
    std::optional<std::int64_t> expect;
    for (const auto& m : model_) {
      for (std::size_t k = 0; k < m.record_ts.size() && !expect; ++k) {
        if (m.record_ts[k] >= target) expect = m.base + static_cast<std::int64_t>(k);
      }
      if (expect) break;
    }
    ASSERT_EQ(log_->offset_for_timestamp(target), expect) << "ts " << target;
  }

  // Reopen: clean, or unclean (marker and recovery point removed: full scan).
  void reopen_op() {
    const bool unclean = rng_() % 2 == 0;
    log_->close();
    log_.reset();
    if (unclean) {
      std::filesystem::remove(dir_ / ".clean_shutdown");
      std::filesystem::remove(dir_ / "recovery-point-offset-checkpoint");
    }
    log_ = PartitionLog::open(dir_.path(), c_);
    ASSERT_FALSE(log_->recovery_report().mid_log_corruption);
    ASSERT_EQ(log_->recovery_report().bytes_truncated, 0u);
    ASSERT_EQ(log_->log_end_offset(), next_offset_);
    if (!model_.empty()) {
      ASSERT_EQ(log_->log_start_offset(), model_.front().base);
    }
    ++reopens_;
  }

  static constexpr std::int64_t kTs0 = 1'000'000;
  TempDir dir_{test::memory_dir()};  // logic test: tmpfs keeps fsync out of the run time
  LogConfig c_;
  std::unique_ptr<PartitionLog> log_;
  std::vector<ModelBatch> model_;  // batches still in the log, in order
  std::mt19937_64 rng_;
  std::int64_t ts_ = kTs0;
  std::int64_t next_offset_ = 0;
  int reads_ = 0, appends_ = 0, reopens_ = 0, retention_deletes_ = 0, rejected_ = 0;
};

TEST_P(RandomOps, LogMatchesModel) {
  for (int op = 0; op < kOps && !HasFatalFailure(); ++op) {
    const int dice = static_cast<int>(rng_() % 100);
    if (dice < 50) {
      append_op();
    } else if (dice < 80) {
      random_read_op();
    } else if (dice < 85) {
      ASSERT_TRUE(log_->roll());
    } else if (dice < 90) {
      retention_op();
    } else if (dice < 95) {
      timestamp_op();
    } else {
      reopen_op();
    }
  }
  ASSERT_FALSE(HasFatalFailure());
  // Final full comparison.
  if (!model_.empty()) check_read(model_.front().base, 1ull << 40);
  EXPECT_GT(appends_, kOps / 3);
  EXPECT_GT(reads_, kOps / 5);
  EXPECT_GT(reopens_, 0);
  EXPECT_GT(rejected_, 0);
  EXPECT_GT(retention_deletes_, 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, RandomOps,
                         ::testing::Values(RandomOpsCase{WriteMode::pwrite, true, "pwrite"},
                                           RandomOpsCase{WriteMode::pwrite, false, "pwrite_pread_lookups"},
                                           RandomOpsCase{WriteMode::mmap, true, "mmap"},
                                           RandomOpsCase{WriteMode::mmap, false, "mmap_pread_lookups"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace nocopy::log
