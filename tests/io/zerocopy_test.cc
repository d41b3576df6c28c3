// Zero-copy memory lifetime and fallbacks: MSG_ZEROCOPY (ZeroCopyMemorySender,
// MsgZeroCopySender) and io_uring SEND_ZC (UringSendZcSender).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "io/file.h"
#include "io/msg_zerocopy_sender.h"
#include "io/socket.h"
#include "io/transfer.h"
#include "io/uring_send_zc_sender.h"
#include "io/zero_copy_memory_sender.h"
#include "test_util.h"

namespace nocopy::io::test {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

// A buffer that poisons itself (0xDD) when its owner is released, and checks
// at that moment that the sender had already seen enough completions.
struct PoisonedBuffers {
  explicit PoisonedBuffers(std::size_t n) : data(n) {
    for (std::size_t i = 0; i < n; ++i) {
      data[i].resize(kChunk);
      fill_pattern(data[i].data(), kChunk, i * kChunk);
    }
  }
  // `completions` reads the sender's completion counter.
  template <class F>
  std::shared_ptr<const void> owner(std::size_t i, F completions) {
    return std::shared_ptr<const void>(data[i].data(), [this, i, completions](const void*) {
      const std::uint64_t done = completions();
      if (done < released.load() + 1) early.fetch_add(1);
      std::memset(data[i].data(), 0xDD, kChunk);
      released.fetch_add(1);
    });
  }
  std::vector<std::vector<std::uint8_t>> data;
  std::atomic<std::uint64_t> released{0};
  std::atomic<int> early{0};
};

template <class Send, class Drain>
void poison_round_trip(Send send, Drain drain, PoisonedBuffers& bufs, int sock_fd, int recv_fd) {
  // A slow reader keeps sends in flight while later ones are issued.
  Receiver rx(recv_fd, 0, {}, Receiver::Options{.read_size = 16 * 1024, .delay_us = 100});
  for (std::size_t i = 0; i < bufs.data.size(); ++i) {
    std::size_t done = 0;
    while (done < kChunk) {
      auto r = send(i, done);
      ASSERT_TRUE(r.has_value()) << r.error().message();
      done += r->bytes;
      if (r->would_block) {
        pollfd p{sock_fd, POLLOUT, 0};
        ASSERT_EQ(::poll(&p, 1, 10000), 1);
      }
    }
  }
  ASSERT_TRUE(drain().has_value());
  ::shutdown(sock_fd, SHUT_WR);
  EXPECT_EQ(rx.join(), bufs.data.size() * kChunk);
  EXPECT_TRUE(rx.ok()) << "receiver saw poisoned or wrong bytes: " << rx.mismatch();
  EXPECT_EQ(bufs.released.load(), bufs.data.size()) << "an owner was never released";
  EXPECT_EQ(bufs.early.load(), 0) << "an owner was released before its completion";
}

// poison_round_trip of `bufs` from sp.client to sp.server through a memory
// sender (ZeroCopyMemorySender or UringSendZcSender); `completions` reads what
// lets the sender release an owner.
template <class Sender, class F>
void memory_round_trip(Sender& zc, PoisonedBuffers& bufs, SocketPair& sp, F completions) {
  poison_round_trip(
      [&](std::size_t i, std::size_t done) {
        auto span = std::as_bytes(std::span(bufs.data[i])).subspan(done);
        if constexpr (std::is_same_v<Sender, UringSendZcSender>) {
          return zc.send_memory_some(span, bufs.owner(i, completions), sp.client.fd());
        } else {
          return zc.send_some(span, bufs.owner(i, completions), sp.client.fd());
        }
      },
      [&] { return zc.drain(sp.client.fd()); }, bufs, sp.client.fd(), sp.server.fd());
}

TEST(ZeroCopyMemory, MsgZerocopyHoldsMemoryUntilCompletion) {
  SocketPair sp = connected_pair();
  sp.client.set_nonblocking();
  ZeroCopyMemorySender zc;
  PoisonedBuffers bufs(32);
  auto completions = [&zc] { return zc.counters().zc_completions; };
  memory_round_trip(zc, bufs, sp, completions);
  if (zc.fallback_reason()[0] != '\0') GTEST_SKIP() << zc.fallback_reason();
  EXPECT_GT(zc.counters().zc_completions, 0u);
  EXPECT_EQ(zc.counters().bytes_zero_copy, 32 * kChunk);
  EXPECT_EQ(zc.outstanding(sp.client.fd()), 0u);
}

TEST(ZeroCopyMemory, UringSendZcHoldsMemoryUntilNotification) {
  if (!probe(Strategy::uring_send_zc).available) GTEST_SKIP() << probe(Strategy::uring_send_zc).reason;
  SocketPair sp = connected_pair();
  sp.client.set_nonblocking();
  UringSendZcSender zc;
  ASSERT_STREQ(zc.fallback_reason(), "");
  PoisonedBuffers bufs(32);
  auto completions = [&zc] { return zc.counters().zc_completions; };
  memory_round_trip(zc, bufs, sp, completions);
  EXPECT_GT(zc.counters().zc_completions, 0u);
  EXPECT_EQ(zc.outstanding(), 0u);
}

TEST(ZeroCopyMemory, EnobufsFallsBackToCopyAndCounts) {
  SocketPair sp = connected_pair();
  ZeroCopyMemorySender zc;
  zc.inject_enobufs(2);
  PoisonedBuffers bufs(4);
  // A copied (fallback) send needs no completion before its owner goes.
  auto completions = [&zc] { return zc.counters().zc_completions + zc.counters().fallbacks; };
  memory_round_trip(zc, bufs, sp, completions);
  if (zc.fallback_reason()[0] != '\0') GTEST_SKIP() << zc.fallback_reason();
  EXPECT_EQ(zc.counters().fallbacks, 2u);
  EXPECT_EQ(zc.counters().bytes_copied_user, 2 * kChunk);
  EXPECT_EQ(zc.counters().bytes_zero_copy, 2 * kChunk);
}

TEST(ZeroCopyMemory, SocketWithoutSoZerocopyFallsBack) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  Fd a(fds[0]), b(fds[1]);
  ZeroCopyMemorySender zc;
  std::vector<std::uint8_t> data(kChunk);
  fill_pattern(data.data(), data.size(), 0);
  Receiver rx(b.get(), 0);
  auto r = zc.send_some(std::as_bytes(std::span(data)), nullptr, a.get());
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->bytes, kChunk);
  a.reset();
  EXPECT_EQ(rx.join(), kChunk);
  EXPECT_TRUE(rx.ok()) << rx.mismatch();
  EXPECT_NE(std::string(zc.fallback_reason()), "");
  EXPECT_EQ(zc.counters().fallbacks, 1u);
  EXPECT_EQ(zc.counters().bytes_copied_user, kChunk);
}

TEST(MsgZeroCopySender, FileSendReapsCompletions) {
  TempDir dir;
  write_pattern_file(dir / "src", 4 << 20);
  File f = File::open(dir / "src");
  MsgZeroCopySender s(SenderOptions{.chunk_size = 256 * 1024});
  s.memory().inject_enobufs(1);
  SocketPair sp = connected_pair();
  Receiver rx(sp.server.fd(), 100);
  auto r = send_all(s, f.fd(), 100, (4 << 20) - 100, sp.client.fd());
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ::shutdown(sp.client.fd(), SHUT_WR);
  EXPECT_EQ(rx.join(), (4u << 20) - 100);
  EXPECT_TRUE(rx.ok()) << rx.mismatch();
  if (s.fallback_reason()[0] != '\0') GTEST_SKIP() << s.fallback_reason();
  EXPECT_EQ(s.counters().fallbacks, 1u);
  EXPECT_GT(s.counters().zc_completions, 0u);
  EXPECT_LE(s.counters().zc_copied, s.counters().zc_completions);
  EXPECT_EQ(s.memory().outstanding(sp.client.fd()), 0u);
}

class UringFallback : public testing::TestWithParam<Strategy> {};

TEST_P(UringFallback, MissingOpcodeFallsBackVisibly) {
  TempDir dir;
  write_pattern_file(dir / "src", 300000);
  File f = File::open(dir / "src");
  auto s = make_sender(GetParam(), SenderOptions{.force_fallback = true});
  EXPECT_NE(std::string(s->fallback_reason()), "");
  SocketPair sp = connected_pair();
  Receiver rx(sp.server.fd(), 7);
  auto r = send_all(*s, f.fd(), 7, 300000 - 7, sp.client.fd());
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ::shutdown(sp.client.fd(), SHUT_WR);
  EXPECT_EQ(rx.join(), 300000u - 7);
  EXPECT_TRUE(rx.ok()) << rx.mismatch();
  EXPECT_GT(s->counters().fallbacks, 0u);
  EXPECT_EQ(s->counters().zc_completions, 0u);
  if (GetParam() == Strategy::uring_send_zc) {
    EXPECT_EQ(s->counters().bytes_copied_user, 300000u - 7);  // plain send from the mapping
  } else {
    EXPECT_EQ(s->counters().bytes_zero_copy, 300000u - 7);  // splice(2)
  }
}

INSTANTIATE_TEST_SUITE_P(Uring, UringFallback, testing::Values(Strategy::uring_splice, Strategy::uring_send_zc),
                         [](const testing::TestParamInfo<Strategy>& i) { return std::string(to_string(i.param)); });

}  // namespace
}  // namespace nocopy::io::test
