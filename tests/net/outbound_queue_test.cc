// net::OutboundQueue and net::ChainOutbound: the cork decision, slots,
// partial writes resumed after EAGAIN, the observer's counters and the
// zero-copy sender whose completions must be reaped.
#include "net/outbound_queue.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "buf/chain.h"
#include "buf/chain_sender.h"
#include "io/file.h"
#include "io/socket.h"
#include "io/transfer.h"
#include "net/chain_outbound.h"

namespace nocopy::net {
namespace {

constexpr std::string_view kHeader = "HTTP/1.1 200 OK\r\n\r\n";

class OutboundQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("nocopy-outq-" + std::to_string(::getpid()));
    std::string content(1 << 20, 'x');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
    std::ofstream(path_, std::ios::binary) << content;
    content_ = std::move(content);
    file_ = std::make_shared<const io::File>(io::File::open(path_));
  }
  void TearDown() override { std::filesystem::remove(path_); }

  buf::Chain response(std::uint64_t body) {
    buf::Chain c;
    c.append(buf::Buffer::copy_of(kHeader));
    c.append(buf::FileRegion{file_, 0, body});
    return c;
  }

  std::filesystem::path path_;
  std::string content_;
  std::shared_ptr<const io::File> file_;
};

int cork_state(int fd) {
  int v = -1;
  socklen_t l = sizeof v;
  ::getsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, &l);
  return v;
}

// Reads everything from `fd` until EOF on a thread.
struct Drain {
  explicit Drain(int fd) : t([this, fd] {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }) {}
  std::string got;
  std::thread t;
};

TEST_F(OutboundQueueTest, CorksOnlyHeaderPlusBodyLargerThanTheThreshold) {
  buf::ChainSender sender(buf::ChainSenderOptions{});
  // A small body goes out in one file send after a MSG_MORE header: no cork.
  EXPECT_FALSE(OutboundQueue::wants_cork(ChainOutbound(response(4096), sender)));
  EXPECT_FALSE(OutboundQueue::wants_cork(ChainOutbound(response(OutboundQueue::kCorkMinFileBytes), sender)));
  EXPECT_TRUE(OutboundQueue::wants_cork(ChainOutbound(response(OutboundQueue::kCorkMinFileBytes + 1), sender)));
  // A body alone (no header to hold back) is never corked, nor plain bytes.
  buf::Chain body_only;
  body_only.append(buf::FileRegion{file_, 0, 200 * 1024});
  EXPECT_FALSE(OutboundQueue::wants_cork(ChainOutbound(std::move(body_only), sender)));
  EXPECT_FALSE(OutboundQueue::wants_cork(BytesOutbound(std::string(1 << 20, 'b'))));
  // Memory counts against backpressure, file regions do not.
  ChainOutbound out(response(4096), sender);
  EXPECT_EQ(out.memory_bytes(), kHeader.size());
  EXPECT_EQ(out.file_bytes(), 4096u);
}

TEST_F(OutboundQueueTest, CorkHeldWhileBlockedReleasedWhenEmptyNothingLost) {
  io::SocketPair p = io::connected_pair();
  p.client.set_sndbuf(4096);
  p.client.set_nonblocking();
  buf::ChainSender sender(buf::ChainSenderOptions{});
  OutboundQueue q;
  q.push(std::make_unique<BytesOutbound>("first|"));
  q.push(std::make_unique<ChainOutbound>(response(content_.size()), sender));
  EXPECT_EQ(q.memory_bytes(), std::string("first|").capacity() + kHeader.size());
  auto r = q.write(p.client.fd(), [](const Outbound&) {});
  ASSERT_FALSE(r.error) << r.error->message();
  ASSERT_TRUE(r.blocked) << "1 MiB fit into a 4 KiB send buffer?";
  EXPECT_TRUE(q.corked());
  EXPECT_EQ(cork_state(p.client.fd()), 1);
  EXPECT_EQ(r.items_done, 1u);

  Drain reader(p.server.fd());
  std::uint64_t total = r.bytes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!q.empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    r = q.write(p.client.fd(), [](const Outbound&) {});
    ASSERT_FALSE(r.error) << r.error->message();
    total += r.bytes;
    if (r.blocked) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_FALSE(q.corked());
  EXPECT_EQ(cork_state(p.client.fd()), 0);
  EXPECT_EQ(q.memory_bytes(), 0u);
  ::shutdown(p.client.fd(), SHUT_WR);
  reader.t.join();
  EXPECT_EQ(total, 6 + kHeader.size() + content_.size());
  EXPECT_TRUE(reader.got == "first|" + std::string(kHeader) + content_);
}

TEST_F(OutboundQueueTest, SlotsKeepOrderAndStallUncorked) {
  io::SocketPair p = io::connected_pair();
  p.client.set_nonblocking();
  OutboundQueue q;
  const auto slot = q.reserve();
  q.push(std::make_unique<BytesOutbound>("second"));
  auto r = q.write(p.client.fd(), [](const Outbound&) {});
  EXPECT_EQ(r.bytes, 0u);  // stalled on the unfilled slot
  EXPECT_FALSE(q.corked());
  EXPECT_FALSE(q.fill(slot + 7, std::make_unique<BytesOutbound>("nobody")));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_TRUE(q.fill(slot, std::make_unique<BytesOutbound>("first,")));  // the front: write now
  r = q.write(p.client.fd(), [](const Outbound&) {});
  EXPECT_EQ(r.bytes, 12u);
  EXPECT_EQ(r.items_done, 2u);
  EXPECT_TRUE(q.empty());
  ::shutdown(p.client.fd(), SHUT_WR);
  Drain reader(p.server.fd());
  reader.t.join();
  EXPECT_EQ(reader.got, "first,second");
}

TEST_F(OutboundQueueTest, ObserverGetsTheCountersOfEachWrite) {
  struct Sum final : SendObserver {
    void on_send(const io::Counters& d) override { total += d; }
    io::Counters total;
  } sum;
  io::SocketPair p = io::connected_pair();
  Drain reader(p.server.fd());
  buf::ChainSender sender(buf::ChainSenderOptions{io::Strategy::sendfile});
  ChainOutbound out(response(100'000), sender, &sum);
  while (!out.done()) ASSERT_TRUE(out.write_some(p.client.fd()));
  ::shutdown(p.client.fd(), SHUT_WR);
  reader.t.join();
  EXPECT_EQ(sum.total.bytes_copied_user, kHeader.size());  // the header only
  EXPECT_EQ(sum.total.bytes_zero_copy, 100'000u);           // sendfile: the body without a copy
  EXPECT_GE(sum.total.syscalls, 2u);
}

TEST_F(OutboundQueueTest, NamesTheSenderOnlyForStrategiesWithCompletions) {
  for (io::Strategy s : io::socket_strategies()) {
    buf::ChainSenderOptions o;
    o.strategy = s;
    buf::ChainSender sender(o);
    ChainOutbound out(response(4096), sender);
    if (s == io::Strategy::msg_zerocopy || s == io::Strategy::uring_send_zc) {
      EXPECT_EQ(out.zero_copy_sender(), &sender.file_sender()) << io::to_string(s);
    } else {
      EXPECT_EQ(out.zero_copy_sender(), nullptr) << io::to_string(s);
    }
  }
}

}  // namespace
}  // namespace nocopy::net
