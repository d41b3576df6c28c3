// File -> file copy: every strategy, sizes, offsets, truncated sources,
// O_DIRECT where the filesystem refuses it.
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/file.h"
#include "io/file_copier.h"
#include "test_util.h"

namespace nocopy::io::test {
namespace {

std::vector<std::uint8_t> read_all(const std::filesystem::path& p) {
  File f = File::open(p);
  std::vector<std::uint8_t> v(f.size().value());
  EXPECT_EQ(f.pread_full(std::as_writable_bytes(std::span(v)), 0).value(), v.size());
  return v;
}

struct CopyCase {
  Strategy strategy;
  std::uint64_t size;
};

class FileCopy : public testing::TestWithParam<CopyCase> {};

TEST_P(FileCopy, WholeFileIsByteEqual) {
  const auto [s, size] = GetParam();
  TempDir dir;
  write_pattern_file(dir / "src", size);
  FileCopier c(s, CopyOptions{.chunk_size = 256 * 1024, .pipe_size = 64 * 1024});
  auto r = c.copy_file(dir / "src", dir / "dst");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, size);
  EXPECT_EQ(read_all(dir / "dst"), read_all(dir / "src"));
  if (size > 0) {
    EXPECT_GT(c.counters().syscalls, 0u);
  }
  if (s == Strategy::read_write || s == Strategy::direct_io) {
    EXPECT_EQ(c.counters().bytes_copied_user, size);
  } else {
    EXPECT_EQ(c.counters().bytes_zero_copy, size);
    EXPECT_EQ(c.counters().bytes_copied_user, 0u);
  }
}

TEST_P(FileCopy, RangeAtOffsets) {
  const auto [s, size] = GetParam();
  TempDir dir;
  const off_t so = s == Strategy::direct_io ? 8192 : 12345;
  const off_t d = s == Strategy::direct_io ? 4096 : 777;
  write_pattern_file(dir / "src", static_cast<std::uint64_t>(so) + size + 10);
  File in = File::open(dir / "src");
  File out = File::open(dir / "dst", File::Mode::truncate_rw);
  FileCopier c(s);
  auto r = c.copy(in.fd(), so, out.fd(), d, size);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, size);
  std::vector<std::uint8_t> got(size);
  ASSERT_EQ(out.pread_full(std::as_writable_bytes(std::span(got)), static_cast<std::uint64_t>(d)).value(), size);
  std::string why;
  EXPECT_TRUE(Expect{}.check(got.data(), got.size(), static_cast<std::uint64_t>(so), &why)) << why;
  EXPECT_EQ(out.size().value(), size == 0 ? 0 : static_cast<std::uint64_t>(d) + size);
}

TEST_P(FileCopy, TruncatedSourceIsEnodata) {
  const auto [s, size] = GetParam();
  if (size == 0) GTEST_SKIP();
  TempDir dir;
  write_pattern_file(dir / "src", size);
  File in = File::open(dir / "src");
  File out = File::open(dir / "dst", File::Mode::truncate_rw);
  FileCopier c(s);
  auto r = c.copy(in.fd(), 0, out.fd(), 0, size + 5000);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().err, ENODATA) << r.error().message();
}

std::vector<CopyCase> copy_cases() {
  std::vector<CopyCase> v;
  for (Strategy s : file_copy_strategies()) {
    for (std::uint64_t size : {0ull, 1ull, 4095ull, 4096ull, (1ull << 20) + 1}) v.push_back({s, size});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllStrategies, FileCopy, testing::ValuesIn(copy_cases()),
                         [](const testing::TestParamInfo<CopyCase>& i) {
                           return std::string(to_string(i.param.strategy)) + "_" + std::to_string(i.param.size);
                         });

TEST(FileCopier, RejectsSocketOnlyStrategies) {
  EXPECT_THROW(FileCopier(Strategy::mmap_write), std::invalid_argument);
  EXPECT_THROW(FileCopier(Strategy::msg_zerocopy), std::invalid_argument);
}

TEST(FileCopier, MissingSourceAndDirectoryThrowNamingThePath) {
  TempDir dir;
  FileCopier c(Strategy::copy_file_range);
  try {
    (void)c.copy_file(dir / "missing", dir / "dst");
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)c.copy_file(dir.path(), dir / "dst"), std::system_error);
  auto bad = c.copy(-1, 0, -1, 0, 10);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().err, EBADF) << bad.error().message();
}

TEST(FileCopier, DirectIoOnTmpfsGivesClearMessage) {
  if (!std::filesystem::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  TempDir dir("/dev/shm");
  write_pattern_file(dir / "src", 100000);
  const int probe = ::open((dir / "src").c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (probe >= 0) {
    ::close(probe);
    GTEST_SKIP() << "this kernel's tmpfs accepts O_DIRECT";
  }
  ASSERT_EQ(errno, EINVAL);
  FileCopier c(Strategy::direct_io);
  auto r = c.copy_file(dir / "src", dir / "dst");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().err, EINVAL);
  EXPECT_NE(r.error().message().find("refuses O_DIRECT"), std::string::npos) << r.error().message();
  try {
    (void)File::open(dir / "src", File::Mode::read, O_DIRECT);
    FAIL() << "tmpfs accepted O_DIRECT";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("refuses O_DIRECT"), std::string::npos) << e.what();
  }
}

TEST(FileCopier, DirectIoRejectsUnalignedOffsets) {
  TempDir dir;
  write_pattern_file(dir / "src", 100000);
  File in = File::open(dir / "src");
  File out = File::open(dir / "dst", File::Mode::truncate_rw);
  FileCopier c(Strategy::direct_io);
  auto r = c.copy(in.fd(), 3, out.fd(), 0, 5000);
  if (!r.has_value() && r.error().message().find("refuses O_DIRECT") != std::string::npos) {
    GTEST_SKIP() << r.error().message();
  }
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().err, EINVAL);
  EXPECT_NE(r.error().message().find("alignment"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace nocopy::io::test

namespace nocopy::io::test {
namespace {

// The copier keeps its O_DIRECT descriptors between calls: a second pair of
// files that reuses the same descriptor numbers must not be confused with it.
TEST(FileCopier, DirectIoReusedCopierFollowsTheFiles) {
  TempDir dir;
  FileCopier c(Strategy::direct_io, CopyOptions{.chunk_size = 64 * 1024});
  for (int round = 0; round < 2; ++round) {
    const std::uint64_t size = 200000 + static_cast<std::uint64_t>(round) * 12345;
    const std::string src = "src" + std::to_string(round), dst = "dst" + std::to_string(round);
    write_pattern_file(dir / src, size);
    File in = File::open(dir / src);
    File out = File::open(dir / dst, File::Mode::truncate_rw);
    // Two calls on the same pair (the second reuses the O_DIRECT descriptors).
    auto a = c.copy(in.fd(), 0, out.fd(), 0, 65536);
    if (!a.has_value() && a.error().message().find("refuses O_DIRECT") != std::string::npos) {
      GTEST_SKIP() << a.error().message();
    }
    ASSERT_TRUE(a.has_value()) << a.error().message();
    auto b = c.copy(in.fd(), 65536, out.fd(), 65536, size - 65536);
    ASSERT_TRUE(b.has_value()) << b.error().message();
    EXPECT_EQ(read_all(dir / dst), read_all(dir / src)) << "round " << round;
  }
}

}  // namespace
}  // namespace nocopy::io::test
