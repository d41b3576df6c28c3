// Recovery: torn tails, flipped bytes, broken or missing indexes, unclean
// exits of a child process, and SIGKILL at random moments.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "log/partition_log.h"
#include "log/record_batch.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::make_batch;
using test::read_regions;
using test::TempDir;

LogConfig small_config(WriteMode mode = WriteMode::pwrite) {
  LogConfig c;
  c.write_mode = mode;
  c.segment_bytes = 32 * 1024;
  c.index_interval_bytes = 512;
  return c;
}

// Writes `n` batches (seed i, 2 records, 400-byte values), closes cleanly,
// and returns each batch's bytes.
std::vector<std::vector<std::byte>> write_log(const std::filesystem::path& dir, int n, LogConfig c = small_config()) {
  std::vector<std::vector<std::byte>> out;
  auto log = PartitionLog::open(dir, c);
  for (int i = 0; i < n; ++i) {
    auto b = make_batch(i, 2, 400, 1000 + i);
    EXPECT_TRUE(log->append(b));
    out.push_back(b);
  }
  log->close();
  return out;
}

// The base offsets of the segments of the cleanly closed log in `dir` (opens
// and closes it again).
std::vector<std::int64_t> segment_bases(const std::filesystem::path& dir) {
  auto log = PartitionLog::open(dir, small_config());
  auto bases = log->segment_base_offsets();
  log->close();
  return bases;
}

// Every batch of a log written by write_log() reads back whole by its
// offset, and every timestamp finds its first record.
void expect_every_batch_found(PartitionLog& log, const std::vector<std::vector<std::byte>>& batches) {
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto k = static_cast<std::int64_t>(i);
    auto r = log.read(2 * k + 1, 1);
    ASSERT_TRUE(r);
    ASSERT_EQ(read_regions(r->regions), batches[i]) << "batch " << i;
    // Batch i holds timestamps 1000+i and 1001+i: the first record at or after 1000+i.
    ASSERT_EQ(log.offset_for_timestamp(1000 + k), i == 0 ? 0 : 2 * k - 1) << "timestamp " << 1000 + k;
  }
}

void forget_clean_shutdown(const std::filesystem::path& dir) {
  std::filesystem::remove(dir / ".clean_shutdown");
  std::filesystem::remove(dir / "recovery-point-offset-checkpoint");
}

std::vector<std::byte> concat(const std::vector<std::vector<std::byte>>& v, std::size_t n) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i < n; ++i) out.insert(out.end(), v[i].begin(), v[i].end());
  return out;
}

std::vector<std::byte> read_all(PartitionLog& log) {
  auto r = log.read(log.log_start_offset(), 1ull << 40);
  EXPECT_TRUE(r);
  return r ? read_regions(r->regions) : std::vector<std::byte>{};
}

// (segment base, position in it) of batch `k` when batches are laid out as written.
std::pair<std::int64_t, std::uint64_t> locate(PartitionLog& log, std::int64_t offset) {
  auto r = log.read(offset, 1);
  EXPECT_TRUE(r);
  std::int64_t base = -1;
  for (auto b : log.segment_base_offsets()) {
    if (b <= offset) base = b;
  }
  return {base, r->regions.at(0).offset};
}

void flip_byte(const std::filesystem::path& file, std::uint64_t pos) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(pos));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(static_cast<std::streamoff>(pos));
  f.write(&c, 1);
}

TEST(Recovery, TornTailIsTruncatedAtTheLastWholeBatch) {
  TempDir dir;
  auto batches = write_log(dir.path(), 30);
  forget_clean_shutdown(dir.path());
  std::int64_t last_base;
  {
    auto log = PartitionLog::open(dir.path(), small_config());
    last_base = log->segment_base_offsets().back();
    log->close();
  }
  forget_clean_shutdown(dir.path());
  auto last_file = dir / LogSegment::file_name(last_base, ".log");
  auto size = std::filesystem::file_size(last_file);
  std::filesystem::resize_file(last_file, size - 10);  // cut into the last batch

  auto log = PartitionLog::open(dir.path(), small_config());
  const auto& rep = log->recovery_report();
  EXPECT_FALSE(rep.clean_shutdown);
  EXPECT_FALSE(rep.mid_log_corruption);
  EXPECT_EQ(rep.bytes_truncated, batches.back().size() - 10);
  EXPECT_EQ(log->log_end_offset(), 2 * 29);
  EXPECT_EQ(read_all(*log), concat(batches, 29));
  auto again = make_batch(777, 2, 400);
  auto info = log->append(again);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->base_offset, 58);
}

TEST(Recovery, FlippedByteTruncatesAtExactlyThatBatchAndIsReported) {
  TempDir dir;
  auto batches = write_log(dir.path(), 100);  // three segments
  std::int64_t victim = 2 * 20;               // batch 20, in the first
  std::pair<std::int64_t, std::uint64_t> where;
  std::size_t segments_before;
  {
    auto log = PartitionLog::open(dir.path(), small_config());
    where = locate(*log, victim);
    segments_before = log->segment_count();
    log->close();
  }
  ASSERT_GT(segments_before, 2u);
  ASSERT_EQ(where.first, 0) << "the victim must be in the first segment";
  forget_clean_shutdown(dir.path());
  flip_byte(dir / LogSegment::file_name(where.first, ".log"), where.second + 100);

  auto log = PartitionLog::open(dir.path(), small_config());
  const auto& rep = log->recovery_report();
  EXPECT_TRUE(rep.mid_log_corruption);
  EXPECT_FALSE(rep.segments_deleted.empty());
  ASSERT_FALSE(rep.messages.empty());
  bool mentions_crc = false;
  for (const auto& m : rep.messages) mentions_crc |= m.find("CRC") != std::string::npos;
  EXPECT_TRUE(mentions_crc);
  EXPECT_EQ(log->log_end_offset(), victim);
  EXPECT_EQ(read_all(*log), concat(batches, 20));
  for (auto b : rep.segments_deleted) EXPECT_FALSE(std::filesystem::exists(dir / LogSegment::file_name(b, ".log")));
}

TEST(Recovery, FlippedByteInsideTheLastSegmentIsCorruptionNotATornTail) {
  TempDir dir;
  LogConfig c = small_config();
  c.segment_bytes = 1 << 20;
  auto batches = write_log(dir.path(), 20, c);
  forget_clean_shutdown(dir.path());
  std::uint64_t pos = 0;
  for (int i = 0; i < 12; ++i) pos += batches[i].size();
  flip_byte(dir / LogSegment::file_name(0, ".log"), pos + 70);
  auto log = PartitionLog::open(dir.path(), c);
  EXPECT_TRUE(log->recovery_report().mid_log_corruption);
  EXPECT_EQ(log->log_end_offset(), 24);
  EXPECT_EQ(read_all(*log), concat(batches, 12));
}

TEST(Recovery, RecoveryPointLimitsTheScan) {
  TempDir dir;
  write_log(dir.path(), 60);
  std::filesystem::remove(dir / ".clean_shutdown");  // keep the checkpoint (= log end)
  auto log = PartitionLog::open(dir.path(), small_config());
  EXPECT_FALSE(log->recovery_report().clean_shutdown);
  EXPECT_EQ(log->recovery_report().recovery_point, 120);
  EXPECT_EQ(log->recovery_report().segments_scanned, 1u);  // only the last one
  EXPECT_EQ(log->log_end_offset(), 120);
}

TEST(Recovery, GarbageOrMissingIndexesAreRebuilt) {
  TempDir dir;
  auto batches = write_log(dir.path(), 100);
  const std::vector<std::int64_t> bases = segment_bases(dir.path());
  ASSERT_GE(bases.size(), 3u);
  {
    std::ofstream f(dir / LogSegment::file_name(bases[0], ".index"), std::ios::binary | std::ios::trunc);
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) f.put(static_cast<char>(rng()));
  }
  std::filesystem::remove(dir / LogSegment::file_name(bases[1], ".index"));
  std::filesystem::remove(dir / LogSegment::file_name(bases[1], ".timeindex"));
  std::filesystem::resize_file(dir / LogSegment::file_name(bases[2], ".timeindex"), 7);

  auto log = PartitionLog::open(dir.path(), small_config());
  EXPECT_TRUE(log->recovery_report().clean_shutdown);
  EXPECT_EQ(log->recovery_report().indexes_rebuilt, 3u);
  EXPECT_FALSE(log->recovery_report().mid_log_corruption);
  EXPECT_GT(std::filesystem::file_size(dir / LogSegment::file_name(bases[1], ".index")), 0u);
  expect_every_batch_found(*log, batches);
}

// An index entry that is still in order but points a byte past its batch
// (damaged after a clean shutdown, so open trusts the file) must not make a
// lookup hop from the middle of a batch: the entry is checked against the
// batch it names, and lookups in that segment scan from its start instead.
TEST(Recovery, AnIndexEntryOffItsBatchIsCaughtOnLookup) {
  TempDir dir;
  auto batches = write_log(dir.path(), 100);
  const std::vector<std::int64_t> bases = segment_bases(dir.path());
  ASSERT_GE(bases.size(), 2u);
  const auto index = dir / LogSegment::file_name(bases[0], ".index");
  ASSERT_GE(std::filesystem::file_size(index), 7u * OffsetIndex::kEntrySize);
  {
    // Entry 3's position (bytes 4..7, big-endian) + 1: still between its
    // neighbours. Entry 5's position := entry 1's, a real batch start but
    // of another offset, and out of order. Open checks only the ends.
    std::fstream f(index, std::ios::in | std::ios::out | std::ios::binary);
    auto entry = [&](int i) {
      std::array<std::byte, OffsetIndex::kEntrySize> e;
      f.seekg(i * static_cast<std::streamoff>(OffsetIndex::kEntrySize));
      f.read(reinterpret_cast<char*>(e.data()), e.size());
      return e;
    };
    auto put = [&](int i, const std::array<std::byte, OffsetIndex::kEntrySize>& e) {
      f.seekp(i * static_cast<std::streamoff>(OffsetIndex::kEntrySize));
      f.write(reinterpret_cast<const char*>(e.data()), e.size());
    };
    auto e3 = entry(3);
    store_be32(e3.data() + 4, load_be32(e3.data() + 4) + 1);
    put(3, e3);
    auto e5 = entry(5);
    const auto e1 = entry(1);
    std::copy(e1.begin() + 4, e1.end(), e5.begin() + 4);
    put(5, e5);
  }
  auto log = PartitionLog::open(dir.path(), small_config());
  EXPECT_TRUE(log->recovery_report().clean_shutdown);
  EXPECT_EQ(log->recovery_report().indexes_rebuilt, 0u);
  expect_every_batch_found(*log, batches);
}

// A time index damaged between its first and last entry (after a clean
// shutdown, so open checks only the ends and trusts it) is checked whole on
// the segment's first timestamp lookup, and then not used.
TEST(Recovery, ATimeIndexOutOfOrderInTheMiddleIsCaughtOnItsFirstUse) {
  TempDir dir;
  auto batches = write_log(dir.path(), 100);
  const std::vector<std::int64_t> bases = segment_bases(dir.path());
  ASSERT_GE(bases.size(), 2u);
  const auto timeindex = dir / LogSegment::file_name(bases[0], ".timeindex");
  const std::size_t n = std::filesystem::file_size(timeindex) / TimeIndex::kEntrySize;
  ASSERT_GE(n, 6u);
  {
    // The middle entry's relative offset (bytes 8..11) := the last entry's:
    // a lookup just above its timestamp would start at the segment's end.
    std::fstream f(timeindex, std::ios::in | std::ios::out | std::ios::binary);
    std::byte last[TimeIndex::kEntrySize];
    f.seekg(static_cast<std::streamoff>((n - 1) * TimeIndex::kEntrySize));
    f.read(reinterpret_cast<char*>(last), sizeof last);
    f.seekp(static_cast<std::streamoff>((n / 2) * TimeIndex::kEntrySize + 8));
    f.write(reinterpret_cast<const char*>(last + 8), 4);
  }
  auto log = PartitionLog::open(dir.path(), small_config());
  EXPECT_TRUE(log->recovery_report().clean_shutdown);
  EXPECT_EQ(log->recovery_report().indexes_rebuilt, 0u);
  expect_every_batch_found(*log, batches);
}

// Runs `fn` in a child process that exits without closing the log.
template <class Fn>
void in_child(Fn fn) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = fn();
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

class UncleanExit : public ::testing::TestWithParam<WriteMode> {};

TEST_P(UncleanExit, EverythingWrittenIsRecoveredAndThePreallocationDropped) {
  TempDir dir;
  LogConfig c = small_config(GetParam());
  in_child([&] {
    auto log = PartitionLog::open(dir.path(), c);
    for (int i = 0; i < 100; ++i) {
      auto b = make_batch(i, 2, 400, 1000 + i);
      if (!log->append(b)) return 1;
    }
    ::_exit(0);  // no close(): no marker, no trim
    return 0;
  });
  EXPECT_FALSE(std::filesystem::exists(dir / ".clean_shutdown"));
  auto log = PartitionLog::open(dir.path(), c);
  const auto& rep = log->recovery_report();
  EXPECT_FALSE(rep.clean_shutdown);
  EXPECT_FALSE(rep.mid_log_corruption);
  EXPECT_EQ(log->log_end_offset(), 200);
  std::vector<std::vector<std::byte>> expect;
  for (int i = 0; i < 100; ++i) {
    auto b = make_batch(i, 2, 400, 1000 + i);
    store_be64(b.data(), 2 * i);
    expect.push_back(b);
  }
  EXPECT_EQ(read_all(*log), concat(expect, 100));
}

INSTANTIATE_TEST_SUITE_P(Modes, UncleanExit, ::testing::Values(WriteMode::pwrite, WriteMode::mmap),
                         [](const auto& info) { return info.param == WriteMode::pwrite ? "pwrite" : "mmap"; });

#if defined(__SANITIZE_ADDRESS__)
constexpr int kCrashRounds = 8;
#else
constexpr int kCrashRounds = 25;
#endif

// (write mode, flush policy). FlushPolicy::Mode::never: a process kill leaves the
// page cache, so every append that returned is still there, and the pwrite
// mode's reservation ahead of the writer (LogConfig::preallocate_bytes, no
// zero fill without syncs) is what a kill leaves behind.
class CrashTest : public ::testing::TestWithParam<std::tuple<WriteMode, FlushPolicy::Mode>> {};

// A child appends (waiting for each append's sync with flush-every-append)
// and reports each acknowledged offset on a pipe; the parent SIGKILLs it at
// a random moment. After every kill: each acknowledged append is present,
// offsets are dense, no partial batch is visible, and every batch is the one
// the child wrote there; once closed, no segment keeps blocks past its end.
TEST_P(CrashTest, AcknowledgedAppendsSurviveSigkill) {
  TempDir dir;
  const auto [mode, flush] = GetParam();
  LogConfig c = small_config(mode);
  c.segment_bytes = 16 * 1024;
  c.flush.mode = flush;
  std::mt19937_64 rng(12345);
  std::int64_t max_acked = -1;
  for (int round = 0; round < kCrashRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    // A one-page pipe: a child that does not wait for syncs blocks after
    // 512 acknowledgements instead of 8,192 (bounded work per round).
    (void)::fcntl(fds[1], F_SETPIPE_SZ, 4096);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto log = PartitionLog::open(dir.path(), c);
      for (;;) {
        std::int64_t next = log->log_end_offset();
        auto b = make_batch(static_cast<std::uint64_t>(next), 1 + next % 3, 300);
        auto info = log->append(b);
        if (!info || info->base_offset != next) ::_exit(2);
        if (flush == FlushPolicy::Mode::every_append && !log->wait_flushed(info->last_offset)) ::_exit(3);
        if (::write(fds[1], &info->last_offset, sizeof(std::int64_t)) != sizeof(std::int64_t)) ::_exit(4);
      }
    }
    ::close(fds[1]);
    // Let it acknowledge a random number of appends, then kill at a random instant.
    const int want = static_cast<int>(rng() % 25);
    int got = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (got < want && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      std::int64_t v;
      if (::read(fds[0], &v, sizeof v) != sizeof v) break;
      max_acked = std::max(max_acked, v);
      ++got;
    }
    ::usleep(static_cast<useconds_t>(rng() % 3000));
    ::kill(pid, SIGKILL);
    // Acks still in the pipe were acknowledged before the kill.
    std::int64_t v;
    while (::read(fds[0], &v, sizeof v) == sizeof v) max_acked = std::max(max_acked, v);
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself with " << WEXITSTATUS(status);

    auto log = PartitionLog::open(dir.path(), c);
    EXPECT_FALSE(log->recovery_report().mid_log_corruption) << "round " << round;
    ASSERT_GT(log->log_end_offset(), max_acked) << "round " << round << ": acknowledged offset lost";
    auto bytes = read_all(*log);
    std::size_t pos = 0;
    std::int64_t next = 0;
    while (pos < bytes.size()) {
      auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos));
      ASSERT_TRUE(h) << "round " << round << " at " << pos << ": " << h.error().to_string();
      ASSERT_EQ(h->base_offset, next) << "offsets must be dense";
      auto expect = make_batch(static_cast<std::uint64_t>(next), 1 + next % 3, 300);
      store_be64(expect.data(), next);
      ASSERT_TRUE(std::equal(expect.begin(), expect.end(), bytes.begin() + static_cast<std::ptrdiff_t>(pos)))
          << "batch at offset " << next << " is not what the child wrote";
      next = h->last_offset() + 1;
      pos += h->total_size();
    }
    EXPECT_EQ(next, log->log_end_offset());
    log->close();
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      if (e.path().extension() != ".log") continue;
      EXPECT_LE(test::allocated_bytes(e.path()), test::page_up(e.file_size()) + 8192)
          << "round " << round << ": " << e.path().filename() << " keeps blocks past its end";
    }
  }
  EXPECT_GT(max_acked, 0);
}

// pwrite mode + sync every append keeps written zeros ahead of the end
// (LogConfig::sync_zero_fill_bytes): close() trims them, and after an
// unclean exit recovery drops them as preallocation, not as corruption.
TEST(ZeroFill, TrimmedOnCloseAndDroppedAsPreallocationAfterACrash) {
  TempDir dir;
  LogConfig c = small_config();
  c.segment_bytes = 1 << 20;
  c.flush.mode = FlushPolicy::Mode::every_append;
  c.sync_zero_fill_bytes = 64 * 1024;
  const auto seg = dir / "00000000000000000000.log";
  std::vector<std::vector<std::byte>> batches;
  for (int i = 0; i < 10; ++i) batches.push_back(make_batch(i, 2, 400, 1000 + i));
  std::uint64_t committed = 0;
  {
    auto log = PartitionLog::open(dir.path(), c);
    for (int i = 0; i < 5; ++i) {
      auto b = batches[i];
      auto info = log->append(b);
      ASSERT_TRUE(info);
      ASSERT_TRUE(log->wait_flushed(info->last_offset));
    }
    committed = log->size_bytes();
    // The zeros are there while the log is open...
    const auto file_size = std::filesystem::file_size(seg);
    EXPECT_GE(file_size, committed + 32 * 1024);
    std::vector<char> tail(file_size - committed);
    std::ifstream in(seg, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(committed));
    in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
    EXPECT_TRUE(std::all_of(tail.begin(), tail.end(), [](char ch) { return ch == 0; }));
  }
  // ...and gone after close.
  EXPECT_EQ(std::filesystem::file_size(seg), committed);

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto log = PartitionLog::open(dir.path(), c);
    for (int i = 5; i < 10; ++i) {
      auto b = batches[i];
      auto info = log->append(b);
      if (!info || !log->wait_flushed(info->last_offset)) ::_exit(2);
    }
    ::_exit(std::filesystem::file_size(seg) > log->size_bytes() ? 0 : 3);  // no close(): zeros stay
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto log = PartitionLog::open(dir.path(), c);
  const RecoveryReport& rep = log->recovery_report();
  EXPECT_FALSE(rep.clean_shutdown);
  EXPECT_FALSE(rep.mid_log_corruption);
  EXPECT_GT(rep.bytes_truncated, 0u);
  ASSERT_FALSE(rep.messages.empty());
  EXPECT_NE(rep.messages.back().find("preallocation"), std::string::npos) << rep.messages.back();
  EXPECT_EQ(log->log_end_offset(), 20);
  for (int i = 0; i < 10; ++i) store_be64(batches[i].data(), 2 * i);  // as the log assigned them
  EXPECT_EQ(read_all(*log), concat(batches, 10));
}

INSTANTIATE_TEST_SUITE_P(Modes, CrashTest,
                         ::testing::Values(std::tuple{WriteMode::pwrite, FlushPolicy::Mode::every_append},
                                           std::tuple{WriteMode::mmap, FlushPolicy::Mode::every_append},
                                           std::tuple{WriteMode::pwrite, FlushPolicy::Mode::never}),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == WriteMode::pwrite ? "pwrite" : "mmap") +
                                  (std::get<1>(info.param) == FlushPolicy::Mode::never ? "_noflush" : "");
                         });

}  // namespace
}  // namespace nocopy::log
