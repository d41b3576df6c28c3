#include "buf/chain_sender.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

#include "io/strategy.h"
#include "io/transfer.h"
#include "test_util.h"

namespace nocopy::buf {
namespace {

using namespace std::chrono_literals;
using test::TcpPair;
using test::TempFile;

// Reads the socket until EOF (or `limit` bytes, then closes it with a reset).
// `chunk` bytes per read and a pause every `pause_every` bytes make it slow.
class Reader {
 public:
  Reader(io::Fd fd, std::size_t chunk, std::size_t pause_every = 0, std::size_t limit = SIZE_MAX)
      : fd_(std::move(fd)) {
    thread_ = std::thread([this, chunk, pause_every, limit] {
      std::string buf(chunk, '\0');
      std::size_t since_pause = 0;
      while (got_.size() < limit) {
        const std::size_t want = std::min(chunk, limit - got_.size());
        const ssize_t n = ::recv(fd_.get(), buf.data(), want, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got_.append(buf.data(), static_cast<std::size_t>(n));
        since_pause += static_cast<std::size_t>(n);
        if (pause_every != 0 && since_pause >= pause_every) {
          since_pause = 0;
          std::this_thread::sleep_for(200us);  // pacing, not synchronisation
        }
      }
      if (limit != SIZE_MAX) {
        linger l{1, 0};  // close with RST: the sender sees ECONNRESET/EPIPE
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        fd_.reset();
      }
    });
  }
  ~Reader() {
    if (thread_.joinable()) thread_.join();
  }
  std::string finish() {
    thread_.join();
    return std::move(got_);
  }

 private:
  io::Fd fd_;
  std::string got_;
  std::thread thread_;
};

void wait_writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  int r;
  do r = ::poll(&p, 1, 10000);
  while (r < 0 && errno == EINTR);
  ASSERT_GT(r, 0) << "socket not writable within 10 s";
}

// Sends `chain` to `sock` to completion, waiting for POLLOUT on would-block.
struct SendStats {
  int calls = 0;
  int would_blocks = 0;
};

SendStats send_all(ChainSender& sender, int sock, Chain& chain) {
  SendStats st;
  const std::uint64_t start = chain.length();
  std::uint64_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!chain.empty()) {
    EXPECT_LT(std::chrono::steady_clock::now(), deadline);
    if (std::chrono::steady_clock::now() > deadline) break;
    ++st.calls;
    auto r = sender.send_some(sock, chain);
    EXPECT_TRUE(r) << r.error().message();
    if (!r) break;
    sent += r->bytes;
    EXPECT_EQ(sent + chain.length(), start);  // progress == what left the chain
    if (r->would_block) {
      EXPECT_FALSE(chain.empty());
      ++st.would_blocks;
      (void)sender.reap(sock);
      wait_writable(sock);
    } else {
      EXPECT_TRUE(chain.empty());
    }
  }
  return st;
}

struct Built {
  Chain chain;
  std::string bytes;
  std::uint64_t memory_bytes = 0;
  std::uint64_t file_bytes = 0;
};

// A chain mixing memory (fresh, pool slices, 1-byte pieces) and file regions
// at odd offsets, roughly `target` bytes long.
Built build_mixed(std::mt19937_64& rng, const TempFile& f, const std::string& file_content,
                  const Buffer& pool, std::uint64_t target) {
  Built b;
  auto add_mem = [&](Buffer buf) {
    b.bytes += buf.view();
    b.memory_bytes += buf.size();
    b.chain.append(std::move(buf));
  };
  auto add_region = [&](std::uint64_t off, std::uint64_t len) {
    b.bytes += file_content.substr(off, len);
    b.file_bytes += len;
    b.chain.append(FileRegion{f.file, off, len});
  };
  add_mem(Buffer::copy_of(test::random_bytes(rng, 37)));  // a "response header"
  while (b.bytes.size() < target) {
    switch (rng() % 5) {
      case 0:
        add_mem(Buffer::copy_of(test::random_bytes(rng, 1 + rng() % 600)));
        break;
      case 1: {
        const std::size_t off = rng() % (pool.size() - 1);
        add_mem(pool.slice(off, 1 + rng() % std::min<std::size_t>(pool.size() - off - 1, 9000)));
        break;
      }
      case 2:
        add_mem(Buffer::copy_of(test::random_bytes(rng, 1)));
        break;
      default: {
        const std::uint64_t off = 1 + rng() % (file_content.size() - 2);
        add_region(off, 1 + rng() % std::min<std::uint64_t>(file_content.size() - off - 1, 70000));
      }
    }
  }
  return b;
}

class ChainSendStrategy : public ::testing::TestWithParam<io::Strategy> {
 protected:
  void SetUp() override {
    const auto avail = io::probe(GetParam());
    if (!avail.available) {
      GTEST_SKIP() << io::to_string(GetParam()) << " unavailable: " << avail.reason;
    }
  }
};

// The "must hold": a non-blocking socket with a tiny SO_SNDBUF and a slow
// reader; partial progress resumes to completion, no byte lost or duplicated.
TEST_P(ChainSendStrategy, MixedChainThroughTinyBuffersAndSlowReader) {
  std::mt19937_64 rng(42 + static_cast<int>(GetParam()));
  const std::string file_content = test::random_bytes(rng, (1 << 20) + 1);
  TempFile f(file_content);
  Buffer pool = Buffer::copy_of(test::random_bytes(rng, 64 * 1024));
  const std::uint64_t target = test::under_sanitizer() ? 300'000 : 1'200'000;

  {
    Built b = build_mixed(rng, f, file_content, pool, target);
    b.chain.append(FileRegion{f.file, 0, file_content.size()});  // 1 MiB + 1 at offset 0
    b.bytes += file_content;
    b.file_bytes += file_content.size();
    b.chain.append(Buffer::copy_of(std::string_view("trailer")));
    b.bytes += "trailer";
    b.memory_bytes += 7;
    ASSERT_EQ(b.chain.length(), b.bytes.size());

    TcpPair p = TcpPair::make(4096);
    test::set_nonblocking(p.client.get());
    ChainSender sender(ChainSenderOptions{GetParam(), {}});
    Reader reader(std::move(p.server), 1500, 64 * 1024);
    SendStats st = send_all(sender, p.client.get(), b.chain);
    ASSERT_TRUE(sender.drain(p.client.get())) << "drain";
    EXPECT_GT(st.would_blocks, 0) << "the tiny buffers never filled: partial progress untested";
    ::shutdown(p.client.get(), SHUT_WR);
    const std::string got = reader.finish();
    ASSERT_EQ(got.size(), b.bytes.size());
    EXPECT_TRUE(got == b.bytes) << "content differs";

    // Counters: memory bytes went through sendmsg from user buffers; the file
    // bytes through the strategy.
    EXPECT_EQ(sender.memory_counters().bytes_copied_user, b.memory_bytes);
    const auto& fc = sender.file_counters();
    EXPECT_GE(fc.bytes_zero_copy + fc.bytes_copied_user, b.file_bytes);
    if (GetParam() == io::Strategy::sendfile) {
      EXPECT_EQ(fc.bytes_zero_copy, b.file_bytes);
    }
    if (GetParam() == io::Strategy::read_write) {
      EXPECT_EQ(fc.bytes_zero_copy, 0u);
    }
    const auto total = sender.counters();
    EXPECT_EQ(total.syscalls, sender.memory_counters().syscalls + fc.syscalls);
    EXPECT_GE(total.syscalls, static_cast<std::uint64_t>(st.calls));
  }
}

// A blocking socket: one call sends the whole chain.
TEST_P(ChainSendStrategy, BlockingSocketSendsEverythingInOneCall) {
  std::mt19937_64 rng(7);
  const std::string file_content = test::random_bytes(rng, 300'000);
  TempFile f(file_content);
  Buffer pool = Buffer::copy_of(test::random_bytes(rng, 16 * 1024));
  Built b = build_mixed(rng, f, file_content, pool, 400'000);
  TcpPair p = TcpPair::make(8192);
  ChainSender sender(ChainSenderOptions{GetParam(), {}});
  Reader reader(std::move(p.server), 4096);
  auto r = sender.send_some(p.client.get(), b.chain);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->would_block);
  EXPECT_EQ(r->bytes, b.bytes.size());
  EXPECT_TRUE(b.chain.empty());
  ASSERT_TRUE(sender.drain(p.client.get()));
  ::shutdown(p.client.get(), SHUT_WR);
  EXPECT_TRUE(reader.finish() == b.bytes);
}

// The peer resets the connection mid-chain: a clean EPIPE/ECONNRESET naming
// the syscall, no SIGPIPE (the test does not ignore it), what was sent is gone
// from the chain.
TEST_P(ChainSendStrategy, PeerCloseMidChainIsACleanError) {
  std::mt19937_64 rng(99);
  const std::string file_content = test::random_bytes(rng, 500'000);
  TempFile f(file_content);
  Buffer pool = Buffer::copy_of(test::random_bytes(rng, 16 * 1024));
  for (bool nonblocking : {true, false}) {
    SCOPED_TRACE(nonblocking ? "non-blocking" : "blocking");
    Built b = build_mixed(rng, f, file_content, pool, 3'000'000);
    TcpPair p = TcpPair::make(4096);
    if (nonblocking) test::set_nonblocking(p.client.get());
    ChainSender sender(ChainSenderOptions{GetParam(), {}});
    Reader reader(std::move(p.server), 1000, 0, 20'000);
    const std::uint64_t start = b.chain.length();
    std::uint64_t sent = 0;
    io::IoError err;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no error after the peer closed";
      auto r = sender.send_some(p.client.get(), b.chain);
      if (!r) {
        err = r.error();
        break;
      }
      sent += r->bytes;
      ASSERT_FALSE(b.chain.empty()) << "the whole chain went into a closed socket?";
      wait_writable(p.client.get());
    }
    EXPECT_TRUE(err.err == EPIPE || err.err == ECONNRESET) << err.message();
    EXPECT_STRNE(err.syscall, "");
    EXPECT_LT(b.chain.length(), start);
    EXPECT_LE(b.chain.length() + sent, start);
    (void)reader.finish();
  }
}

// A region reaching past the end of its file (truncated by someone else):
// ENODATA, not a hang, not a crash.
TEST_P(ChainSendStrategy, RegionPastEndOfFileIsENODATA) {
  std::mt19937_64 rng(5);
  const std::string file_content = test::random_bytes(rng, 10'000);
  TempFile f(file_content);
  Chain c;
  c.append(Buffer::copy_of(std::string_view("header")));
  c.append(FileRegion{f.file, 1000, 20'000});
  TcpPair p = TcpPair::make();
  ChainSender sender(ChainSenderOptions{GetParam(), {}});
  Reader reader(std::move(p.server), 65536);
  auto r = sender.send_some(p.client.get(), c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, ENODATA) << r.error().message();
  ::shutdown(p.client.get(), SHUT_WR);
  (void)sender.drain(p.client.get());
  const std::string got = reader.finish();
  EXPECT_EQ(got.substr(0, 6), "header");
  EXPECT_LE(got.size(), 6u + 9000u);
}

std::string strategy_name(const ::testing::TestParamInfo<io::Strategy>& info) {
  return std::string(io::to_string(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllSocketStrategies, ChainSendStrategy,
                         ::testing::ValuesIn(io::socket_strategies().begin(),
                                             io::socket_strategies().end()),
                         strategy_name);

// More than IOV_MAX (1024) memory segments: sendmsg is never handed more
// iovecs than the kernel accepts (it would fail with EMSGSIZE), and partial
// sends advance through the iovec array correctly.
TEST(ChainSender, MoreSegmentsThanIovMax) {
  std::mt19937_64 rng(3);
  const std::string file_content = test::random_bytes(rng, 5000);
  TempFile f(file_content);
  for (bool nonblocking : {false, true}) {
    SCOPED_TRACE(nonblocking ? "non-blocking" : "blocking");
    Chain c;
    std::string model;
    for (int i = 0; i < 3500; ++i) {
      std::string s = test::random_bytes(rng, 1 + rng() % 3);
      model += s;
      c.append(Buffer::copy_of(s));
      if (i == 2000) {
        c.append(FileRegion{f.file, 17, 4000});
        model += file_content.substr(17, 4000);
      }
    }
    ASSERT_GT(c.segment_count(), 3u * IOV_MAX);
    TcpPair p = nonblocking ? TcpPair::make(4096) : TcpPair::make();
    if (nonblocking) test::set_nonblocking(p.client.get());
    ChainSender sender(ChainSenderOptions{io::Strategy::sendfile, {}});
    Reader reader(std::move(p.server), nonblocking ? 100 : 65536);
    send_all(sender, p.client.get(), c);
    ::shutdown(p.client.get(), SHUT_WR);
    EXPECT_TRUE(reader.finish() == model);
    // 3500 segments need at least ceil(3500 / IOV_MAX) sendmsg calls.
    EXPECT_GE(sender.memory_counters().syscalls, 4u);
    EXPECT_EQ(sender.memory_counters().bytes_copied_user, model.size() - 4000);
  }
}

// A memory-only chain goes out in one sendmsg.
TEST(ChainSender, MemoryOnlyChainIsOneSendmsg) {
  Chain c;
  std::string model;
  for (int i = 0; i < 10; ++i) {
    std::string s(100, static_cast<char>('a' + i));
    model += s;
    c.append(Buffer::copy_of(s));
  }
  TcpPair p = TcpPair::make();
  ChainSender sender(ChainSenderOptions{io::Strategy::sendfile, {}});
  Reader reader(std::move(p.server), 4096);
  auto r = sender.send_some(p.client.get(), c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bytes, model.size());
  EXPECT_EQ(sender.memory_counters().syscalls, 1u);  // one sendmsg
  ::shutdown(p.client.get(), SHUT_WR);
  EXPECT_EQ(reader.finish(), model);
}

// An AF_UNIX socket (MSG_MORE before the region means nothing there): the
// header and the region arrive intact.
TEST(ChainSender, HeaderAndRegionOverUnixSocket) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  io::Fd a(sv[0]), b(sv[1]);
  TempFile f("0123456789");
  Chain c;
  c.append(Buffer::copy_of(std::string_view("hdr:")));
  c.append(FileRegion{f.file, 2, 5});
  ChainSender sender(ChainSenderOptions{io::Strategy::sendfile, {}});
  Reader reader(std::move(b), 64);
  auto r = sender.send_some(a.get(), c);
  ASSERT_TRUE(r) << r.error().message();
  a.reset();
  EXPECT_EQ(reader.finish(), "hdr:23456");
}

TEST(ChainSender, EmptyChainIsANoOp) {
  TcpPair p = TcpPair::make();
  ChainSender sender;
  Chain c;
  auto r = sender.send_some(p.client.get(), c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bytes, 0u);
  EXPECT_FALSE(r->would_block);
  EXPECT_EQ(sender.counters().syscalls, 0u);
}

TEST(ChainSender, BadSocketIsAnErrorNamingTheSyscall) {
  ChainSender sender;
  Chain c;
  c.append(Buffer::copy_of(std::string_view("x")));
  auto r = sender.send_some(-1, c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EBADF);
  EXPECT_STREQ(r.error().syscall, "sendmsg");
  EXPECT_EQ(c.length(), 1u);
}

}  // namespace
}  // namespace nocopy::buf
