// Disk full and write errors: a size-limited tmpfs mounted by the test (needs
// root; skipped otherwise) and RLIMIT_FSIZE in a child process. The append
// fails with a clear error, nothing partial is visible, the log stays
// readable, appends work again once space is back, and reopening finds no
// corruption.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "log/index_file.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::allocated_bytes;
using test::make_batch;
using test::read_regions;
using test::TempDir;

class TmpfsMount {
 public:
  explicit TmpfsMount(const std::filesystem::path& where, const char* options) : path_(where) {
    mounted_ = ::mount("tmpfs", where.c_str(), "tmpfs", 0, options) == 0;
    err_ = errno;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  int error() const { return err_; }

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
  int err_ = 0;
};

// Writes pages to `path` until the filesystem refuses one (it is then full).
void fill_until_full(const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  std::vector<char> page(4096, 'f');
  while (out.write(page.data(), static_cast<std::streamsize>(page.size())) && out.flush()) {
  }
}

std::vector<std::byte> read_all(PartitionLog& log) {
  auto r = log.read(log.log_start_offset(), 1ull << 40);
  EXPECT_TRUE(r);
  return r ? read_regions(r->regions) : std::vector<std::byte>{};
}

// Appends batches of one 1000-byte record until an append fails or `max`
// went in; each one that went in is added to `model`. Returns the failure.
std::optional<LogError> append_until_failure(PartitionLog& log, std::vector<std::byte>& model, int max) {
  for (int i = 0; i < max; ++i) {
    auto b = make_batch(static_cast<std::uint64_t>(i), 1, 1000);
    auto r = log.append(b);
    if (!r) return r.error();
    model.insert(model.end(), b.begin(), b.end());
  }
  return std::nullopt;
}

class FullDisk : public ::testing::TestWithParam<WriteMode> {};

TEST_P(FullDisk, SmallTmpfsFailsCleanlyAndRecovers) {
  TempDir mp;
  TmpfsMount mount(mp.path(), "size=512k,mode=0700");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(mount.error());
  {
    // Space to give back later.
    std::ofstream filler(mp / "filler", std::ios::binary);
    std::vector<char> chunk(128 * 1024, 'f');
    filler.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    ASSERT_TRUE(filler.good());
  }
  LogConfig c;
  c.write_mode = GetParam();
  c.segment_bytes = 64 * 1024;
  c.index_interval_bytes = 1024;
  c.max_index_bytes = 4096;
  const auto dir = mp / "log";
  std::vector<std::byte> model;
  {
    auto log = PartitionLog::open(dir, c);
    std::optional<LogError> failure = append_until_failure(*log, model, 2000);
    ASSERT_TRUE(failure) << "the filesystem never filled up";
    EXPECT_EQ(failure->kind, LogErrc::storage_error);
    EXPECT_EQ(failure->sys_errno, ENOSPC) << failure->message;
    EXPECT_EQ(failure->kafka_error_code(), 56);
    EXPECT_FALSE(failure->message.empty());
    const std::int64_t end = log->log_end_offset();
    // Let the flusher pool finish what the failed append and the last roll
    // scheduled, then take whatever space that (or the log's own clean-up of
    // a partial write) gave back, so the filesystem is full for certain.
    (void)log->flush();
    fill_until_full(mp / "filler2");
    // Still full: fails again, appends nothing; the log reads back exactly.
    auto b = make_batch(5000, 1, 1000);
    EXPECT_FALSE(log->append(b));
    EXPECT_EQ(log->log_end_offset(), end);
    EXPECT_EQ(read_all(*log), model);
    // Space comes back: appends work again and continue the offsets.
    std::filesystem::remove(mp / "filler");
    std::filesystem::remove(mp / "filler2");
    auto again = make_batch(6000, 1, 1000);
    auto info = log->append(again);
    ASSERT_TRUE(info) << info.error().to_string();
    EXPECT_EQ(info->base_offset, end);
    model.insert(model.end(), again.begin(), again.end());
    EXPECT_EQ(read_all(*log), model);
    log->close();
  }
  auto log = PartitionLog::open(dir, c);
  EXPECT_FALSE(log->recovery_report().mid_log_corruption);
  EXPECT_EQ(log->recovery_report().bytes_truncated, 0u);
  EXPECT_EQ(read_all(*log), model);
}

// pwrite mode reserves LogConfig::preallocate_bytes ahead of the writer. On
// a filesystem too small for one reservation every reservation fails: the
// appends still fill it as they would without, then fail cleanly.
TEST(FullDisk, AReservationThatDoesNotFitStopsNoAppend) {
  TempDir mp;
  TmpfsMount mount(mp.path(), "size=256k,mode=0700");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(mount.error());
  LogConfig c;
  c.write_mode = WriteMode::pwrite;
  c.segment_bytes = 1 << 20;
  c.preallocate_bytes = 1 << 20;  // never fits in 256 KiB
  c.max_index_bytes = 4096;
  const auto dir = mp / "log";
  std::vector<std::byte> model;
  auto log = PartitionLog::open(dir, c);
  std::optional<LogError> failure = append_until_failure(*log, model, 1000);
  ASSERT_TRUE(failure) << "the filesystem never filled up";
  EXPECT_EQ(failure->sys_errno, ENOSPC) << failure->message;
  // Most of the 256 KiB went to appended batches (the rest: the index pages).
  EXPECT_GE(model.size(), 200u * 1024);
  EXPECT_EQ(read_all(*log), model);
}


// An index is sized to its capacity sparsely; disk blocks are reserved a
// chunk ahead of the entries, so an idle partition pins 4 KiB per index, not
// the capacity.
TEST(IndexReservation, BlocksAreReservedInChunksAheadOfTheEntries) {
  TempDir mp;
  TmpfsMount mount(mp.path(), "size=16m,mode=0700");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(mount.error());
  const auto path = mp / "0.index";
  IndexFile f(path, 8, 4 << 20, /*reset=*/true);
  EXPECT_EQ(std::filesystem::file_size(path), 4u << 20);
  EXPECT_EQ(f.reserved_bytes(), 4096u);
  EXPECT_EQ(allocated_bytes(path), 4096u);
  std::byte e[8] = {};
  for (std::size_t i = 0; i < 600; ++i) {  // 4800 bytes: a second chunk
    std::memcpy(e, &i, sizeof e);
    ASSERT_TRUE(f.append(e)) << i;
  }
  EXPECT_EQ(f.reserved_bytes(), 8192u);  // 4 KiB, then doubling
  EXPECT_EQ(allocated_bytes(path), 8192u);
  for (std::size_t i = 600; i < 200'000; ++i) ASSERT_TRUE(f.append(e)) << i;
  // 1.6 MB of entries: chunks doubled to 1 MiB at most, never past the entries by more.
  EXPECT_GE(f.reserved_bytes(), 200'000u * 8);
  EXPECT_LE(f.reserved_bytes(), 200'000u * 8 + (1u << 20));
  EXPECT_EQ(allocated_bytes(path), f.reserved_bytes());
  for (std::size_t i = 200'000; i < f.max_entries(); ++i) ASSERT_TRUE(f.append(e)) << i;
  EXPECT_TRUE(f.full());
  EXPECT_EQ(f.reserved_bytes(), 4u << 20);
  ASSERT_TRUE(f.trim());
  EXPECT_EQ(std::filesystem::file_size(path), 4u << 20);
}

// A crash leaves the index at its full (sparse) capacity: the reopened file
// counts the zeros as entries, the log truncates them, and appends reserve
// again from the truncation point rather than trusting the holes.
TEST(IndexReservation, TruncatedEntriesAreReservedAgain) {
  TempDir mp;
  TmpfsMount mount(mp.path(), "size=16m,mode=0700");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(mount.error());
  const auto path = mp / "0.index";
  {
    IndexFile f(path, 8, 1 << 20, /*reset=*/true);
    std::byte e[8] = {std::byte{1}};
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(f.append(e));
  }  // no trim: as after a crash
  IndexFile f(path, 8, 1 << 20, /*reset=*/false);
  EXPECT_EQ(f.entries(), (1u << 20) / 8);
  f.truncate_entries(10);
  EXPECT_EQ(f.reserved_bytes(), 80u);
  std::byte e[8] = {std::byte{2}};
  ASSERT_TRUE(f.append(e));
  EXPECT_EQ(f.reserved_bytes(), 4096u);
  EXPECT_EQ(allocated_bytes(path), 4096u);
}

// On a full disk the reservation fails: append() refuses the entry (nothing
// stored, entries() unchanged, no SIGBUS), and works again once space is back.
TEST(IndexReservation, FullDiskRefusesEntriesThenResumes) {
  TempDir mp;
  TmpfsMount mount(mp.path(), "size=256k,mode=0700");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(mount.error());
  const auto path = mp / "0.index";
  IndexFile f(path, 8, 1 << 20, /*reset=*/true);
  fill_until_full(mp / "filler");
  std::byte e[8] = {};
  std::size_t stored = 0;
  while (stored < f.max_entries() && f.append(e)) ++stored;
  EXPECT_EQ(stored, 4096u / 8);  // the first chunk, reserved before the disk filled
  EXPECT_EQ(f.entries(), stored);
  EXPECT_EQ(f.reserve_errno(), ENOSPC);
  EXPECT_FALSE(f.append(e));
  EXPECT_EQ(f.entries(), stored);
  std::filesystem::remove(mp / "filler");
  ASSERT_TRUE(f.append(e));
  EXPECT_EQ(f.entries(), stored + 1);
  EXPECT_GE(allocated_bytes(path), f.reserved_bytes());
}

INSTANTIATE_TEST_SUITE_P(Modes, FullDisk, ::testing::Values(WriteMode::pwrite, WriteMode::mmap),
                         [](const auto& info) { return info.param == WriteMode::pwrite ? "pwrite" : "mmap"; });

// RLIMIT_FSIZE makes pwrite fail with EFBIG part-way through a batch. The
// child checks the live log; the parent checks what a reopen finds.
TEST(FullDisk, FileSizeLimitInAChild) {
  TempDir dir;
  LogConfig c;
  c.segment_bytes = 1 << 20;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    auto log = PartitionLog::open(dir.path(), c);
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit lim = old;
    lim.rlim_cur = 50'000;  // mid-batch for 1 KiB batches
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(10);
    std::optional<LogError> failure;
    std::int64_t end = 0;
    for (int i = 0; i < 200 && !failure; ++i) {
      auto b = make_batch(i, 1, 1000);
      auto r = log->append(b);
      if (!r) failure = r.error();
      else end = r->last_offset + 1;
    }
    if (!failure) ::_exit(11);
    if (failure->kind != LogErrc::storage_error || failure->sys_errno != EFBIG) ::_exit(12);
    if (log->log_end_offset() != end) ::_exit(13);
    // The partial write was cut back: the file ends at the committed size.
    if (std::filesystem::file_size(dir / LogSegment::file_name(0, ".log")) != log->size_bytes()) ::_exit(14);
    if (::setrlimit(RLIMIT_FSIZE, &old) != 0) ::_exit(15);
    auto b = make_batch(999, 1, 1000);
    auto r = log->append(b);
    if (!r || r->base_offset != end) ::_exit(16);
    log->close();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "child check failed (see exit codes in the test)";
  auto log = PartitionLog::open(dir.path(), c);
  EXPECT_TRUE(log->recovery_report().clean_shutdown);
  auto bytes = read_all(*log);
  std::size_t pos = 0;
  std::int64_t next = 0;
  while (pos < bytes.size()) {
    auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos));
    ASSERT_TRUE(h) << h.error().to_string();
    ASSERT_EQ(h->base_offset, next);
    next = h->last_offset() + 1;
    pos += h->total_size();
  }
  EXPECT_EQ(next, log->log_end_offset());
  EXPECT_GT(next, 10);
}

}  // namespace
}  // namespace nocopy::log
