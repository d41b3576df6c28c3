// The log's replication primitives: the high watermark, the leader-epoch
// cache and its checkpoint file, a follower's appends with the leader's
// offsets, truncation of a divergent tail.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "log/checkpoint_file.h"
#include "log/leader_epoch_cache.h"
#include "log_test_util.h"
#include "log/partition_log.h"

namespace nocopy::log {
namespace {

using test::make_batch;
using test::read_regions;
using test::TempDir;

LogConfig small_segments() {
  LogConfig c;
  c.segment_bytes = 1500;
  c.index_interval_bytes = 256;
  return c;
}

std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every byte of the log from `from` to its end (or `upto`).
std::vector<std::byte> all_bytes(const PartitionLog& log, std::int64_t from = -1,
                                 std::int64_t upto = PartitionLog::kLogEnd) {
  std::vector<std::byte> out;
  std::int64_t next = from < 0 ? log.log_start_offset() : from;
  for (;;) {
    auto r = log.read(next, 1 << 20, upto);
    EXPECT_TRUE(r.has_value());
    if (!r || r->regions.empty()) break;
    auto b = read_regions(r->regions);
    // Whole batches only (max_bytes is large); find the next offset.
    std::size_t pos = 0;
    while (pos + kBatchHeaderSize <= b.size()) {
      BatchHeader h = parse_batch_header(std::span<const std::byte>(b).subspan(pos));
      next = h.last_offset() + 1;
      pos += h.total_size();
    }
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

std::vector<std::int64_t> base_offsets(std::span<const std::byte> b) {
  std::vector<std::int64_t> v;
  std::size_t pos = 0;
  while (pos + kBatchHeaderSize <= b.size()) {
    BatchHeader h = parse_batch_header(b.subspan(pos));
    v.push_back(h.base_offset);
    pos += h.total_size();
  }
  return v;
}

TEST(LeaderEpochCache, EndOffsetsAsKafkaAnswersThem) {
  TempDir dir(test::memory_dir());
  LeaderEpochCache c(dir.path());
  EXPECT_EQ(c.end_offset_for(0, 10), (EpochEndOffset{-1, -1}));  // empty
  ASSERT_TRUE(c.assign(2, 5));
  ASSERT_TRUE(c.assign(2, 9));  // same epoch: no-op
  ASSERT_TRUE(c.assign(4, 12));
  ASSERT_TRUE(c.assign(7, 20));
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{2, 5}, {4, 12}, {7, 20}}));
  EXPECT_EQ(c.end_offset_for(7, 33), (EpochEndOffset{7, 33}));   // latest: the log end
  EXPECT_EQ(c.end_offset_for(4, 33), (EpochEndOffset{4, 20}));   // the next epoch's start
  EXPECT_EQ(c.end_offset_for(5, 33), (EpochEndOffset{4, 20}));   // unknown, between: the one below
  EXPECT_EQ(c.end_offset_for(1, 33), (EpochEndOffset{1, 5}));    // older than all: the first start
  EXPECT_EQ(c.end_offset_for(9, 33), (EpochEndOffset{-1, -1}));  // newer than all
  EXPECT_EQ(c.end_offset_for(-1, 33), (EpochEndOffset{-1, -1}));
}

TEST(LeaderEpochCache, TruncationFromBothEnds) {
  TempDir dir(test::memory_dir());
  LeaderEpochCache c(dir.path());
  ASSERT_TRUE(c.assign(1, 0));
  ASSERT_TRUE(c.assign(3, 10));
  ASSERT_TRUE(c.assign(5, 20));
  ASSERT_TRUE(c.truncate_from_end(20));
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{1, 0}, {3, 10}}));
  ASSERT_TRUE(c.truncate_from_start(12));
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{3, 12}}));
  // A newer epoch starting below a stale entry replaces it.
  ASSERT_TRUE(c.assign(6, 11));
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{6, 11}}));
}

TEST(LeaderEpochCache, CheckpointFileIsKafkasFormatAndSurvivesReopen) {
  TempDir dir(test::memory_dir());
  {
    LeaderEpochCache c(dir.path());
    ASSERT_TRUE(c.assign(0, 0));
    ASSERT_TRUE(c.assign(3, 42));
  }
  EXPECT_EQ(file_text(dir / LeaderEpochCache::kFileName), "0\n2\n0 0\n3 42\n");
  EXPECT_FALSE(std::filesystem::exists(dir / (std::string(LeaderEpochCache::kFileName) + ".tmp")));
  LeaderEpochCache again(dir.path());
  EXPECT_EQ(again.entries(), (std::vector<EpochEntry>{{0, 0}, {3, 42}}));
}

TEST(LeaderEpochCache, ACrashBeforeTheRenameKeepsTheOldFile) {
  TempDir dir(test::memory_dir());
  {
    LeaderEpochCache c(dir.path());
    ASSERT_TRUE(c.assign(1, 7));
  }
  // A crash while writing the next version: a torn .tmp next to the old file.
  {
    std::ofstream tmp(dir / (std::string(LeaderEpochCache::kFileName) + ".tmp"));
    tmp << "0\n2\n1 7\n2 ";
  }
  LeaderEpochCache c(dir.path());
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{1, 7}}));
  // The log's open removes the leftover.
  auto log = PartitionLog::open(dir.path(), LogConfig{});
  EXPECT_FALSE(std::filesystem::exists(dir / (std::string(LeaderEpochCache::kFileName) + ".tmp")));
}

TEST(LeaderEpochCache, AGarbledFileIsIgnoredNotTrusted) {
  TempDir dir(test::memory_dir());
  for (const char* text : {"0\n2\n1 7\n", "1\n1\n1 7\n", "0\n2\n5 7\n3 9\n", "0\n1\n1 7\nxx\n", "garbage"}) {
    ASSERT_TRUE(write_checkpoint_file(dir.path(), LeaderEpochCache::kFileName, text));
    LeaderEpochCache c(dir.path());
    EXPECT_TRUE(c.entries().empty()) << text;
  }
}

TEST(HighWatermark, FollowsTheLogEndUntilSetThenLimitsReads) {
  TempDir dir(test::memory_dir());
  auto log = PartitionLog::open(dir.path(), small_segments());
  std::vector<std::int64_t> bases;
  for (int i = 0; i < 20; ++i) {
    auto b = make_batch(i, 2, 100);
    auto r = log->append(b);
    ASSERT_TRUE(r);
    bases.push_back(r->base_offset);
  }
  ASSERT_GT(log->segment_count(), 2u);
  EXPECT_FALSE(log->tracks_high_watermark());
  EXPECT_EQ(log->high_watermark(), 40);
  EXPECT_EQ(base_offsets(all_bytes(*log, 0, log->high_watermark())).size(), 20u);

  EXPECT_EQ(log->set_high_watermark(14), 14);
  EXPECT_EQ(log->high_watermark(), 14);
  EXPECT_EQ(base_offsets(all_bytes(*log, 0, log->high_watermark())),
            (std::vector<std::int64_t>{0, 2, 4, 6, 8, 10, 12}));
  // At or above the high watermark: nothing, no error.
  auto at = log->read(14, 1 << 20, 14);
  ASSERT_TRUE(at);
  EXPECT_TRUE(at->regions.empty());
  auto above = log->read(30, 1 << 20, 14);
  ASSERT_TRUE(above);
  EXPECT_TRUE(above->regions.empty());
  // A limit inside a batch excludes that batch.
  EXPECT_EQ(base_offsets(all_bytes(*log, 0, 15)).back(), 12);
  // Clamped to the log end; appends do not move a set high watermark.
  EXPECT_EQ(log->set_high_watermark(1000), 40);
  auto b = make_batch(99);
  ASSERT_TRUE(log->append(b));
  EXPECT_EQ(log->high_watermark(), 40);
  log->follow_log_end();
  EXPECT_EQ(log->high_watermark(), 41);
}

TEST(ReplicatedAppend, KeepsTheLeadersOffsetsAndBytes) {
  TempDir ldir(test::memory_dir()), fdir(test::memory_dir());
  auto leader = PartitionLog::open(ldir.path(), small_segments());
  for (int i = 0; i < 30; ++i) {
    auto b = make_batch(i, 1 + i % 3, 80);
    ASSERT_TRUE(leader->append(b, PartitionLog::SyncBy::log, i < 10 ? 0 : 4));
  }
  EXPECT_EQ(leader->leader_epochs().entries(), (std::vector<EpochEntry>{{0, 0}, {4, 19}}));
  auto follower = PartitionLog::open(fdir.path(), small_segments());
  // Fetch in pieces as a follower would.
  while (follower->log_end_offset() < leader->log_end_offset()) {
    auto r = leader->read(follower->log_end_offset(), 700);
    ASSERT_TRUE(r);
    auto bytes = read_regions(r->regions);
    const std::size_t whole = whole_batches(bytes);  // a region may end inside a batch
    ASSERT_GT(whole, 0u);
    auto a = follower->append_replicated(std::span(bytes).first(whole));
    ASSERT_TRUE(a) << a.error().to_string();
  }
  EXPECT_EQ(all_bytes(*follower), all_bytes(*leader));
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
  EXPECT_EQ(follower->end_offset_for_epoch(0), (EpochEndOffset{0, 19}));

  // A batch at an offset the follower has: refused, nothing changes.
  auto again = leader->read(0, 1);
  auto bytes = read_regions(again->regions);
  auto r = follower->append_replicated(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, LogErrc::invalid_record);
  EXPECT_EQ(follower->log_end_offset(), leader->log_end_offset());

  // Reopened (clean and unclean) it still matches.
  const auto expect = all_bytes(*leader);
  follower.reset();
  follower = PartitionLog::open(fdir.path(), small_segments());
  EXPECT_EQ(all_bytes(*follower), expect);
  follower.reset();
  std::filesystem::remove(fdir / ".clean_shutdown");
  follower = PartitionLog::open(fdir.path(), small_segments());
  EXPECT_EQ(all_bytes(*follower), expect);
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
}

// How many of the first `bytes` of `file` are in the page cache, in pages.
std::size_t resident_pages(const std::filesystem::path& file, std::size_t bytes) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  void* m = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  EXPECT_NE(m, MAP_FAILED);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((bytes + page - 1) / page);
  EXPECT_EQ(::mincore(m, bytes, v.data()), 0);
  ::munmap(m, bytes);
  std::size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// A follower's appends write back and drop what lies a chunk behind the log
// end (LogConfig::replica_drop_behind_bytes); a leader's appends do not. The
// bytes read back are the leader's either way.
TEST(ReplicatedAppend, DropsWhatLiesAChunkBehindFromThePageCache) {
  TempDir ldir, fdir, kdir;  // a disk filesystem: tmpfs pages cannot be dropped
  struct statfs fs{};
  ASSERT_EQ(::statfs(fdir.path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "the temporary directory is tmpfs";
  LogConfig c;
  c.segment_bytes = 4 << 20;
  c.replica_drop_behind_bytes = 64 << 10;
  auto leader = PartitionLog::open(ldir.path(), c);
  for (int i = 0; i < 150; ++i) {
    auto b = make_batch(i, 4, 1000);
    ASSERT_TRUE(leader->append(b, PartitionLog::SyncBy::log, 3));
  }
  auto follower = PartitionLog::open(fdir.path(), c);
  c.replica_drop_behind_bytes = 0;
  auto keeper = PartitionLog::open(kdir.path(), c);
  while (follower->log_end_offset() < leader->log_end_offset()) {
    auto r = leader->read(follower->log_end_offset(), 20000);
    ASSERT_TRUE(r);
    auto bytes = read_regions(r->regions);
    const std::size_t whole = whole_batches(bytes);
    ASSERT_GT(whole, 0u);
    auto copy = bytes;
    ASSERT_TRUE(follower->append_replicated(std::span(bytes).first(whole)));
    ASSERT_TRUE(keeper->append_replicated(std::span(copy).first(whole)));
  }
  const auto seg = [](const TempDir& d) { return d.path() / LogSegment::file_name(0, ".log"); };
  const std::size_t size = std::filesystem::file_size(seg(fdir));
  ASSERT_GT(size, 5u * (64 << 10));
  const std::size_t dropped_part = size - 2 * (64 << 10);  // all of it lies more than a chunk behind
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t pages = (dropped_part + page - 1) / page;
  EXPECT_EQ(resident_pages(seg(fdir), dropped_part), 0u);
  EXPECT_EQ(resident_pages(seg(kdir), dropped_part), pages);
  EXPECT_EQ(resident_pages(seg(ldir), dropped_part), pages);
  const auto expect = all_bytes(*leader);
  EXPECT_EQ(all_bytes(*follower), expect);
  EXPECT_EQ(all_bytes(*keeper), expect);
  follower.reset();
  follower = PartitionLog::open(fdir.path(), c);
  EXPECT_EQ(all_bytes(*follower), expect);

  // A log written as the leader, then following: what it appended as the
  // leader stays cached (but for the last two or three chunks), what it
  // appends as a follower is dropped.
  TempDir sdir;
  c.replica_drop_behind_bytes = 64 << 10;
  auto solo = PartitionLog::open(sdir.path(), c);
  for (int i = 0; i < 90; ++i) {
    auto b = make_batch(i, 4, 1000);
    ASSERT_TRUE(solo->append(b, PartitionLog::SyncBy::log, 3));
  }
  const std::size_t led = std::filesystem::file_size(seg(sdir));
  ASSERT_GT(led, 4u * (64 << 10));
  while (solo->log_end_offset() < leader->log_end_offset()) {
    auto r = leader->read(solo->log_end_offset(), 20000);
    ASSERT_TRUE(r);
    auto bytes = read_regions(r->regions);
    const std::size_t whole = whole_batches(bytes);
    ASSERT_TRUE(solo->append_replicated(std::span(bytes).first(whole)));
  }
  const std::size_t kept = led - 3 * (64 << 10);
  EXPECT_EQ(resident_pages(seg(sdir), kept), (kept + page - 1) / page);
  const std::size_t grown = std::filesystem::file_size(seg(sdir));
  EXPECT_LE(resident_pages(seg(sdir), grown - 2 * (64 << 10)), (kept + page - 1) / page + 8);
}

class Truncation : public ::testing::TestWithParam<WriteMode> {
 protected:
  LogConfig config() const {
    LogConfig c = small_segments();
    c.write_mode = GetParam();
    return c;
  }
};

TEST_P(Truncation, RemovesTheTailAcrossSegmentsAndTakesNewAppends) {
  TempDir dir(test::memory_dir());
  auto log = PartitionLog::open(dir.path(), config());
  std::vector<std::int64_t> bases;
  for (int i = 0; i < 40; ++i) {
    auto b = make_batch(i, 2, 100);
    auto r = log->append(b, PartitionLog::SyncBy::log, i < 20 ? 1 : 2);
    ASSERT_TRUE(r);
    bases.push_back(r->base_offset);
  }
  ASSERT_TRUE(log->flush());
  const std::size_t segs = log->segment_count();
  ASSERT_GT(segs, 4u);
  const auto before = all_bytes(*log);
  // Regions handed out before the truncation stay readable.
  auto held = log->read(60, 1 << 20);
  ASSERT_TRUE(held);
  const auto held_bytes = read_regions(held->regions);
  log->set_high_watermark(70);

  // Inside a batch: the whole batch goes.
  auto t = log->truncate_to(31);
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(*t, 30);
  EXPECT_EQ(log->log_end_offset(), 30);
  EXPECT_EQ(log->high_watermark(), 30);
  EXPECT_LE(log->flushed_offset(), 30);
  EXPECT_LT(log->segment_count(), segs);
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<EpochEntry>{{1, 0}}));
  const auto kept = all_bytes(*log);
  EXPECT_EQ(base_offsets(kept).back(), 28);
  EXPECT_TRUE(std::equal(kept.begin(), kept.end(), before.begin()));
  EXPECT_EQ(read_regions(held->regions), held_bytes);
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_FALSE(e.path().string().ends_with(".deleted")) << e.path();
    EXPECT_FALSE(e.path().string().ends_with(".truncated")) << e.path();
  }

  // New appends continue at the new end, in a new epoch.
  for (int i = 0; i < 10; ++i) {
    auto b = make_batch(100 + i, 2, 100);
    auto r = log->append(b, PartitionLog::SyncBy::log, 3);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->base_offset, 30 + 2 * i);
  }
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<EpochEntry>{{1, 0}, {3, 30}}));
  const auto after = all_bytes(*log);
  EXPECT_EQ(base_offsets(after).size(), 25u);

  // Clean and unclean reopen keep exactly that.
  log.reset();
  log = PartitionLog::open(dir.path(), config());
  EXPECT_EQ(all_bytes(*log), after);
  log.reset();
  std::filesystem::remove(dir / ".clean_shutdown");
  log = PartitionLog::open(dir.path(), config());
  EXPECT_EQ(all_bytes(*log), after);
  EXPECT_FALSE(log->recovery_report().mid_log_corruption);
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<EpochEntry>{{1, 0}, {3, 30}}));
}

TEST_P(Truncation, AtASegmentBoundaryAndToTheStart) {
  TempDir dir(test::memory_dir());
  auto log = PartitionLog::open(dir.path(), config());
  for (int i = 0; i < 40; ++i) {
    auto b = make_batch(i, 1, 100);
    ASSERT_TRUE(log->append(b));
  }
  const auto bases = log->segment_base_offsets();
  ASSERT_GT(bases.size(), 3u);
  auto t = log->truncate_to(bases[2]);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, bases[2]);
  EXPECT_EQ(log->segment_base_offsets().back(), bases[2]);
  auto b = make_batch(500);
  auto r = log->append(b);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base_offset, bases[2]);

  ASSERT_TRUE(log->truncate_to(0));
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->segment_count(), 1u);
  b = make_batch(501);
  ASSERT_TRUE(log->append(b));
  EXPECT_EQ(log->log_end_offset(), 1);

  ASSERT_TRUE(log->truncate_fully_and_start_at(1000));
  EXPECT_EQ(log->log_start_offset(), 1000);
  EXPECT_EQ(log->log_end_offset(), 1000);
  b = make_batch(502);
  auto r2 = log->append(b);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->base_offset, 1000);
  log.reset();
  std::filesystem::remove(dir / ".clean_shutdown");
  log = PartitionLog::open(dir.path(), config());
  EXPECT_EQ(log->log_start_offset(), 1000);
  EXPECT_EQ(log->log_end_offset(), 1001);
}

INSTANTIATE_TEST_SUITE_P(WriteModes, Truncation, ::testing::Values(WriteMode::pwrite, WriteMode::mmap),
                         [](const auto& info) { return info.param == WriteMode::pwrite ? "pwrite" : "mmap"; });

TEST(Truncation, ACrashAfterTheCopyIsFinishedByOpen) {
  TempDir dir(test::memory_dir());
  std::vector<std::byte> prefix;
  {
    auto log = PartitionLog::open(dir.path(), LogConfig{});
    for (int i = 0; i < 10; ++i) {
      auto b = make_batch(i);
      ASSERT_TRUE(log->append(b));
    }
    prefix = all_bytes(*log, 0, 6);
  }
  // The state truncate_to leaves when it dies between writing the complete
  // copy (<base>.log.truncated) and renaming it over the segment.
  const auto seg = dir / "00000000000000000000.log";
  {
    std::ofstream out(seg.string() + ".truncated", std::ios::binary);
    out.write(reinterpret_cast<const char*>(prefix.data()), static_cast<std::streamsize>(prefix.size()));
  }
  // A torn copy (.tmp) is just dropped.
  { std::ofstream torn(seg.string() + ".truncated.tmp"); torn << "partial"; }
  std::filesystem::remove(dir / ".clean_shutdown");
  auto log = PartitionLog::open(dir.path(), LogConfig{});
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(all_bytes(*log), prefix);
  EXPECT_FALSE(std::filesystem::exists(seg.string() + ".truncated"));
  EXPECT_FALSE(std::filesystem::exists(seg.string() + ".truncated.tmp"));
}

}  // namespace
}  // namespace nocopy::log
