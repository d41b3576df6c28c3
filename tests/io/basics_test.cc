// Fd, File, Pipe, Socket, SigpipeGuard and the sendfile per-call cap.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "io/file.h"
#include "io/pipe.h"
#include "io/sendfile_sender.h"
#include "io/sigpipe_guard.h"
#include "io/socket.h"
#include "test_util.h"

namespace nocopy::io::test {
namespace {

template <class F>
std::system_error expect_system_error(F f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e;
  }
  ADD_FAILURE() << "no std::system_error thrown";
  return std::system_error(0, std::system_category());
}

TEST(File, OpenErrorsNameSyscallAndPath) {
  TempDir dir;
  auto missing = expect_system_error([&] { (void)File::open(dir / "nope"); });
  EXPECT_EQ(missing.code().value(), ENOENT);
  EXPECT_NE(std::string(missing.what()).find("open"), std::string::npos) << missing.what();
  EXPECT_NE(std::string(missing.what()).find("nope"), std::string::npos) << missing.what();
  auto isdir = expect_system_error([&] { (void)File::open(dir.path()); });
  EXPECT_EQ(isdir.code().value(), EISDIR) << isdir.what();
}

// reserve() allocates past the end without moving it; writes then land in
// the reserved blocks; release_reserved() gives them back. Checked on both kinds
// of filesystem the log runs on (a disk one and tmpfs).
TEST(File, ReserveKeepsTheSizeAndReleaseFreesTheBlocks) {
  std::vector<std::filesystem::path> bases{std::filesystem::temp_directory_path()};
  if (std::filesystem::is_directory("/dev/shm")) bases.emplace_back("/dev/shm");
  for (const auto& base : bases) {
    SCOPED_TRACE(base.string());
    TempDir dir(base);
    File f = File::open(dir / "r", File::Mode::create_rw);
    auto blocks = [&] {
      struct stat st {};
      EXPECT_EQ(::fstat(f.fd(), &st), 0);
      return static_cast<std::uint64_t>(st.st_blocks) * 512;
    };
    const std::string msg(3000, 'm');
    ASSERT_TRUE(f.pwrite_full(std::as_bytes(std::span(msg)), 0).has_value());
    auto r = f.reserve(0, 1 << 20);
    if (!r && r.error().err == EOPNOTSUPP) GTEST_SKIP() << "no fallocate on " << base;
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(f.size().value(), 3000u);  // the size did not move
    EXPECT_GE(blocks(), 1u << 20);       // the blocks are there
    // A write into the reserved range extends the file as usual.
    ASSERT_TRUE(f.pwrite_full(std::as_bytes(std::span(msg)), 3000).has_value());
    EXPECT_EQ(f.size().value(), 6000u);
    std::vector<std::byte> back(6000);
    ASSERT_EQ(f.pread_full(back, 0).value(), 6000u);
    EXPECT_EQ(std::memcmp(back.data() + 3000, msg.data(), msg.size()), 0);
    // Releasing frees everything past the last page with data.
    ASSERT_TRUE(f.release_reserved(6000, 1 << 20).has_value());
    EXPECT_EQ(f.size().value(), 6000u);
    EXPECT_LE(blocks(), 64u * 1024);  // the data's pages (and at most a little metadata)
    ASSERT_EQ(f.pread_full(back, 0).value(), 6000u);
    EXPECT_EQ(std::memcmp(back.data() + 3000, msg.data(), msg.size()), 0);
  }
  // Errors name the call: a descriptor opened read-only cannot reserve.
  TempDir dir;
  { File w = File::open(dir / "ro", File::Mode::create_rw); }
  File ro = File::open(dir / "ro", File::Mode::read);
  auto e = ro.reserve(0, 4096);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().err, EBADF);
  EXPECT_NE(e.error().message().find("fallocate"), std::string::npos) << e.error().message();
  auto p = ro.release_reserved(0, 4096);
  ASSERT_FALSE(p.has_value());
  EXPECT_TRUE(p.error().err == EBADF || p.error().err == EINVAL) << p.error().message();
}

TEST(File, ModesSizeTruncateFallocate) {
  TempDir dir;
  {
    File f = File::open(dir / "a", File::Mode::create_rw);
    const char msg[] = "hello";
    ASSERT_TRUE(f.pwrite_full(std::as_bytes(std::span(msg, 5)), 0).has_value());
    EXPECT_EQ(f.size().value(), 5u);
  }
  {
    File f = File::open(dir / "a", File::Mode::create_rw);  // keeps content
    EXPECT_EQ(f.size().value(), 5u);
    ASSERT_TRUE(f.fallocate(0, 1 << 16).has_value());
    EXPECT_EQ(f.size().value(), 1u << 16);
    ASSERT_TRUE(f.truncate(3).has_value());
    EXPECT_EQ(f.size().value(), 3u);
    ASSERT_TRUE(f.fdatasync().has_value());
    ASSERT_TRUE(f.fadvise(0, 0, POSIX_FADV_SEQUENTIAL).has_value());
    std::vector<std::byte> buf(100);
    EXPECT_EQ(f.pread_full(buf, 0).value(), 3u);  // stops at end of file
    EXPECT_EQ(std::memcmp(buf.data(), "hel", 3), 0);
    EXPECT_EQ(f.pread_full(buf, 1000).value(), 0u);
  }
  File t = File::open(dir / "a", File::Mode::truncate_rw);
  EXPECT_EQ(t.size().value(), 0u);
  EXPECT_EQ(t.path(), dir / "a");
  File r = File::open(dir / "a", File::Mode::read);
  const char x = 'x';
  auto w = r.pwrite_full(std::as_bytes(std::span(&x, 1)), 0);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().err, EBADF);
  EXPECT_STREQ(w.error().syscall, "pwrite");
}

// pwrite_full's slow path: a write cut short by RLIMIT_FSIZE keeps what fit
// and reports the EFBIG of the next call (in a child: the limit is per
// process). An empty write succeeds without touching the file.
TEST(File, PwriteFullReportsTheErrorAfterAShortWrite) {
  TempDir dir;
  File f = File::open(dir.path() / "limited", File::Mode::truncate_rw);
  ASSERT_TRUE(f.pwrite_full({}, 0).has_value());
  EXPECT_EQ(f.size().value(), 0u);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{1024, 1024};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(10);
    std::vector<std::byte> bytes(100, std::byte{7});
    if (!f.pwrite_full(bytes, 0).has_value()) ::_exit(11);   // fits whole
    auto w = f.pwrite_full(bytes, 1000);                     // 24 bytes fit
    if (w.has_value()) ::_exit(12);
    if (w.error().err != EFBIG || std::strcmp(w.error().syscall, "pwrite") != 0) ::_exit(13);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(f.size().value(), 1024u);
}

TEST(File, BadDescriptorGivesEbadf) {
  File f(Fd(-1));
  auto s = f.size();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().err, EBADF);
  EXPECT_NE(s.error().message().find("fstat"), std::string::npos);
}

TEST(Fd, ClosesOnDestructionAndMove) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  {
    Fd a(fds[0]);
    Fd b(std::move(a));
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), fds[0]);
  }
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
  Fd w(fds[1]);
  EXPECT_EQ(w.release(), fds[1]);
  EXPECT_EQ(::close(fds[1]), 0);
}

TEST(Pipe, ReportsGrantedCapacity) {
  Pipe p = Pipe::create(1 << 20);
  EXPECT_GE(p.capacity(), 64u * 1024);
  EXPECT_EQ(static_cast<std::size_t>(::fcntl(p.write_fd(), F_GETPIPE_SZ)), p.capacity());
  EXPECT_EQ(p.resize(128 * 1024), 128u * 1024);
  EXPECT_EQ(static_cast<std::size_t>(::fcntl(p.write_fd(), F_GETPIPE_SZ)), 128u * 1024);
}

TEST(Socket, LoopbackPairAndOptions) {
  SocketPair sp = connected_pair();
  EXPECT_FALSE(is_nonblocking(sp.client.fd()));
  sp.client.set_nonblocking();
  EXPECT_TRUE(is_nonblocking(sp.client.fd()));
  sp.client.set_nodelay();
  EXPECT_TRUE(sp.client.set_cork(true).has_value());
  EXPECT_TRUE(sp.client.set_cork(false).has_value());
  EXPECT_GE(sp.client.set_sndbuf(64 * 1024), 64 * 1024);
  EXPECT_GE(sp.server.set_rcvbuf(64 * 1024), 64 * 1024);
  const char msg[] = "ping";
  ASSERT_EQ(::send(sp.client.fd(), msg, 4, MSG_NOSIGNAL), 4);
  char got[4];
  ASSERT_EQ(::recv(sp.server.fd(), got, 4, MSG_WAITALL), 4);
  EXPECT_EQ(std::memcmp(got, msg, 4), 0);
  auto bad = set_cork(-1, true);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().err, EBADF);
}

TEST(Socket, ListenerPortAndRefusedConnect) {
  Socket l = Socket::listen_loopback();
  const std::uint16_t port = l.local_port();
  EXPECT_NE(port, 0);
  l.close();
  auto e = expect_system_error([&] { (void)Socket::connect_tcp("127.0.0.1", port); });
  EXPECT_EQ(e.code().value(), ECONNREFUSED) << e.what();
}

TEST(SigpipeGuard, ConsumesTheSignalAndRestoresTheMask) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd r(fds[0]), w(fds[1]);
  r.reset();  // no reader: write() raises SIGPIPE
  sigset_t before;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &before);
  {
    SigpipeGuard g;
    ASSERT_EQ(::write(w.get(), "x", 1), -1);
    ASSERT_EQ(errno, EPIPE);
    g.note_epipe();
  }
  sigset_t after, pending;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &after);
  ::sigpending(&pending);
  EXPECT_EQ(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));  // we are still alive, and nothing is left
}

TEST(SendfileSender, SplitsIntoCappedCalls) {
  TempDir dir;
  write_pattern_file(dir / "src", 3 << 20);
  File f = File::open(dir / "src");
  SendfileSender s(1 << 20);
  SocketPair sp = connected_pair();
  Receiver rx(sp.server.fd(), 5);
  auto r = s.send_some(f.fd(), 5, (3 << 20) - 5, sp.client.fd());
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->bytes, (3u << 20) - 5);
  ::shutdown(sp.client.fd(), SHUT_WR);
  EXPECT_EQ(rx.join(), (3u << 20) - 5);
  EXPECT_TRUE(rx.ok()) << rx.mismatch();
  EXPECT_GE(s.counters().syscalls, 3u);
}

}  // namespace
}  // namespace nocopy::io::test
