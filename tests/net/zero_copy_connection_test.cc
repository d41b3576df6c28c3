// Connection + zero-copy senders (msg_zerocopy, uring_send_zc): completions
// are reaped by the event loop, the connection is not mistaken for broken on
// EPOLLERR, and at close the socket stays open until the kernel reported
// every outstanding send (or the completion timeout passed).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "buf/chain.h"
#include "buf/chain_sender.h"
#include "io/file.h"
#include "io/msg_zerocopy_sender.h"
#include "io/transfer.h"
#include "io/uring_send_zc_sender.h"
#include "net/chain_outbound.h"
#include "net/connection.h"
#include "net/event_loop.h"

using namespace std::chrono_literals;

namespace nocopy::net {
namespace {

constexpr std::size_t kFileSize = 8 << 20;

char pattern(std::uint64_t off) { return static_cast<char>((off * 131 + (off >> 12)) & 0xff); }

struct NullHandler : ConnectionHandler {
  std::size_t on_data(Connection&, std::span<std::byte> d) override { return d.size(); }
  void on_close(Connection&, CloseReason r) override { closed = r; }
  std::optional<CloseReason> closed;
};

// A loop on its own thread, a loopback TCP pair (server end adopted by a
// Connection on the loop), a pattern file, and a zero-copy sender.
class ZeroCopyConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nocopy-netzc-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    {
      std::ofstream f(dir_ / "data.bin", std::ios::binary);
      std::string buf(kFileSize, '\0');
      for (std::size_t i = 0; i < kFileSize; ++i) buf[i] = pattern(i);
      f.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    }
    file_ = std::make_shared<const io::File>(io::File::open(dir_ / "data.bin"));
    make_pair();
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    on_loop([this] {
      if (conn_) conn_->close();
      conn_.reset();
    });
    loop_.stop();
    thread_.join();
    if (client_ >= 0) ::close(client_);
    std::filesystem::remove_all(dir_);
  }

  void make_pair() {
    int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(ls, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(ls, 1), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len), 0);
    client_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 64 * 1024;  // a small window keeps sends in flight
    ::setsockopt(client_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    timeval tv{10, 0};
    ::setsockopt(client_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ASSERT_EQ(::connect(client_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    server_fd_ = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ASSERT_GE(server_fd_, 0);
    ::close(ls);
  }

  template <class F>
  auto on_loop(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto fut = task.get_future();
    loop_.post([&task] { task(); });
    return fut.get();
  }

  // Polls `cond` on the loop thread until true or 10 s passed.
  bool eventually(const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (on_loop([&] { return cond(); })) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }

  void start(io::FileSender& sender, Connection::Options opts = {}) {
    chain_sender_ = std::make_unique<buf::ChainSender>(sender);
    on_loop([&] {
      conn_ = Connection::create(loop_, server_fd_, opts);
      auto h = std::make_unique<NullHandler>();
      handler_ = h.get();
      conn_->set_handler(std::move(h));
      conn_->start();
    });
  }
  // Queues a response: a header buffer + [off, off+len) of the file.
  void respond(std::uint64_t off, std::uint64_t len) {
    on_loop([&] {
      buf::Chain c;
      c.append(buf::Buffer::copy_of("HDR:"));
      c.append(buf::FileRegion{file_, off, len});
      conn_->send(std::make_unique<ChainOutbound>(std::move(c), *chain_sender_));
    });
  }
  // Reads `len` bytes of a response; true if they are "HDR:" + the file range.
  bool read_response(std::uint64_t off, std::uint64_t len) {
    std::string got;
    got.resize(4 + len);
    std::size_t have = 0;
    while (have < got.size()) {
      ssize_t n = ::recv(client_, got.data() + have, got.size() - have, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      have += static_cast<std::size_t>(n);
    }
    if (got.compare(0, 4, "HDR:") != 0) return false;
    for (std::uint64_t i = 0; i < len; ++i) {
      if (got[4 + i] != pattern(off + i)) return false;
    }
    return true;
  }
  static bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

  std::filesystem::path dir_;
  std::shared_ptr<const io::File> file_;
  // Declared before loop_: the loop's registrations (ring fd, lingering
  // sockets) may refer to the sender until the loop is gone.
  std::unique_ptr<io::MsgZeroCopySender> msg_;
  std::unique_ptr<io::UringSendZcSender> uring_;
  EventLoop loop_;
  std::thread thread_;
  int client_ = -1;
  int server_fd_ = -1;
  std::unique_ptr<buf::ChainSender> chain_sender_;
  std::shared_ptr<Connection> conn_;
  NullHandler* handler_ = nullptr;
};

TEST_F(ZeroCopyConnection, MsgZerocopyKeepsConnectionOpenAndReapsOnEpollErr) {
  msg_ = std::make_unique<io::MsgZeroCopySender>();
  io::MsgZeroCopySender& sender = *msg_;
  start(sender);
  // Several keep-alive responses; the client reads each fully before the next.
  for (int round = 0; round < 3; ++round) {
    const std::uint64_t off = static_cast<std::uint64_t>(round) * 1000 + 17;
    respond(off, 2 << 20);
    ASSERT_TRUE(read_response(off, 2 << 20)) << "round " << round;
    // No further send happens: only the loop (EPOLLERR) can reap these.
    ASSERT_TRUE(eventually([&] { return sender.memory().outstanding(server_fd_) == 0; }))
        << on_loop([&] { return sender.memory().outstanding(server_fd_); }) << " completions never reaped";
    ASSERT_TRUE(on_loop([&] { return conn_->is_open(); }))
        << "connection closed: " << on_loop([&] { return conn_->last_error(); });
  }
  if (sender.fallback_reason()[0] != '\0') GTEST_SKIP() << sender.fallback_reason();
  EXPECT_GT(sender.counters().zc_completions, 0u);
  EXPECT_GT(sender.counters().bytes_zero_copy, 0u);
}

TEST_F(ZeroCopyConnection, MsgZerocopyCloseWaitsForCompletionsThenForgetsFd) {
  msg_ = std::make_unique<io::MsgZeroCopySender>();
  io::MsgZeroCopySender& sender = *msg_;
  start(sender);
  respond(0, kFileSize);
  // The client reads nothing yet: sends stay unacknowledged in the socket.
  ASSERT_TRUE(eventually([&] { return sender.memory().outstanding(server_fd_) > 0 && conn_->queued_items() > 0; }));
  if (sender.fallback_reason()[0] != '\0') GTEST_SKIP() << sender.fallback_reason();
  on_loop([&] { conn_->close(); });
  EXPECT_TRUE(handler_->closed.has_value());
  // Closed for the application, but the descriptor lives on until the kernel
  // reported the sends it may still read.
  EXPECT_TRUE(on_loop([&] { return fd_open(server_fd_) && sender.memory().outstanding(server_fd_) > 0; }));
  // The client now reads what was queued in the socket, then EOF.
  std::string got;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(client_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GE(n, 0) << std::strerror(errno);
    if (n == 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(got.compare(0, 4, "HDR:"), 0);
  for (std::size_t i = 4; i < got.size(); ++i) ASSERT_EQ(got[i], pattern(i - 4)) << "byte " << i;
  EXPECT_TRUE(eventually([&] { return !fd_open(server_fd_); })) << "socket never closed";
  EXPECT_EQ(on_loop([&] { return sender.memory().outstanding(server_fd_); }), 0u);
}

TEST_F(ZeroCopyConnection, MsgZerocopyCloseGivesUpAfterCompletionTimeout) {
  msg_ = std::make_unique<io::MsgZeroCopySender>();
  io::MsgZeroCopySender& sender = *msg_;
  Connection::Options opts;
  opts.completion_timeout = 200ms;
  start(sender, opts);
  respond(0, kFileSize);
  ASSERT_TRUE(eventually([&] { return sender.memory().outstanding(server_fd_) > 0 && conn_->queued_items() > 0; }));
  if (sender.fallback_reason()[0] != '\0') GTEST_SKIP() << sender.fallback_reason();
  const auto t0 = std::chrono::steady_clock::now();
  on_loop([&] { conn_->close(); });
  // The client never reads: the completions cannot arrive; the timeout ends it.
  ASSERT_TRUE(eventually([&] { return !fd_open(server_fd_); }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_EQ(on_loop([&] { return sender.memory().outstanding(server_fd_); }), 0u) << "state not forgotten";
}

TEST_F(ZeroCopyConnection, UringSendZcNotificationsReapedByTheLoop) {
  if (!io::probe(io::Strategy::uring_send_zc).available) {
    GTEST_SKIP() << io::probe(io::Strategy::uring_send_zc).reason;
  }
  uring_ = std::make_unique<io::UringSendZcSender>();
  io::UringSendZcSender& sender = *uring_;
  ASSERT_STREQ(sender.fallback_reason(), "");
  start(sender);
  for (int round = 0; round < 3; ++round) {
    const std::uint64_t off = static_cast<std::uint64_t>(round) * 4096 + 5;
    respond(off, 2 << 20);
    ASSERT_TRUE(read_response(off, 2 << 20)) << "round " << round;
    // No further send: only the loop watching the ring's fd can reap them.
    ASSERT_TRUE(eventually([&] { return sender.outstanding() == 0; }))
        << on_loop([&] { return sender.outstanding(); }) << " notifications never reaped";
    ASSERT_TRUE(on_loop([&] { return conn_->is_open(); }));
  }
  EXPECT_TRUE(on_loop([&] { return loop_.watching(sender.completion_fd()); }));
  EXPECT_GT(sender.counters().zc_completions, 0u);
}

}  // namespace
}  // namespace nocopy::net
