// MappingReadGuard: a file truncated under a mapping while user code reads it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include "io/mapping.h"
#include "io/mapping_read_guard.h"
#include "test_util.h"

namespace nocopy::io::test {
namespace {

// Reads every byte of [from, to) of the mapping (volatile: really loads them).
std::uint64_t sum(const Mapping& m, std::size_t from, std::size_t to) {
  const volatile std::uint8_t* p = reinterpret_cast<const volatile std::uint8_t*>(m.data());
  std::uint64_t s = 0;
  for (std::size_t i = from; i < to; ++i) s += p[i];
  return s;
}

TEST(MappingReadGuard, ATruncatedFileReadsAsZerosAndIsReported) {
  TempDir dir;
  const auto path = dir / "seg";
  const long page = ::sysconf(_SC_PAGESIZE);
  write_pattern_file(path, 4 * static_cast<std::uint64_t>(page));
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_GE(fd.get(), 0);
  auto m = Mapping::map(fd.get(), 0, 4 * static_cast<std::size_t>(page));
  ASSERT_TRUE(m.has_value());
  const std::uint64_t first_page = sum(**m, 0, static_cast<std::size_t>(page));
  ASSERT_EQ(::ftruncate(fd.get(), page), 0);

  const std::uint64_t before = MappingReadGuard::faults_absorbed();
  {
    MappingReadGuard guard(**m);
    EXPECT_EQ(sum(**m, 0, static_cast<std::size_t>(page)), first_page);
    EXPECT_FALSE(guard.faulted());
    EXPECT_EQ(sum(**m, static_cast<std::size_t>(page), 4 * static_cast<std::size_t>(page)), 0u);
    EXPECT_TRUE(guard.faulted());
  }
  EXPECT_EQ(MappingReadGuard::faults_absorbed() - before, 3u);  // one per page past the end
  // The zero pages stay until the mapping goes: no more faults.
  {
    MappingReadGuard guard(**m);
    EXPECT_EQ(sum(**m, static_cast<std::size_t>(page), 2 * static_cast<std::size_t>(page)), 0u);
    EXPECT_FALSE(guard.faulted());
  }
  // Guards are per thread.
  std::thread other([&] {
    MappingReadGuard guard(**m);
    EXPECT_FALSE(guard.faulted());
  });
  other.join();
  MappingReadGuard outer(**m);
  EXPECT_THROW(MappingReadGuard inner(**m), std::logic_error);
}

TEST(MappingReadGuardDeathTest, AnUnguardedReadPastTheEndStillKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  const auto path = dir / "seg";
  const long page = ::sysconf(_SC_PAGESIZE);
  write_pattern_file(path, 2 * static_cast<std::uint64_t>(page));
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_GE(fd.get(), 0);
  auto m = Mapping::map(fd.get(), 0, 2 * static_cast<std::size_t>(page));
  ASSERT_TRUE(m.has_value());
  { MappingReadGuard installs_the_handler(**m); }
  ASSERT_EQ(::ftruncate(fd.get(), 0), 0);
  // Killed by SIGBUS (or, under a sanitizer whose SIGBUS handler came
  // first, ended by its report: a non-zero exit or, with AddressSanitizer's
  // abort_on_error, SIGABRT): never survived.
  auto died = [](int status) {
    return (WIFSIGNALED(status) && (WTERMSIG(status) == SIGBUS || WTERMSIG(status) == SIGABRT)) ||
           (WIFEXITED(status) && WEXITSTATUS(status) != 0);
  };
  EXPECT_EXIT(sum(**m, 0, 1), died, "");
}

}  // namespace
}  // namespace nocopy::io::test
