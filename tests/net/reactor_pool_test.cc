#include "net/reactor_pool.h"

#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "net/listener.h"
#include "test_client.h"

using namespace std::chrono_literals;
using nocopy::net::CloseReason;
using nocopy::net::Connection;
using nocopy::net::ConnectionHandler;
using nocopy::net::ReactorPool;
using nocopy::net::testing::Client;

namespace {

// Line protocol: "echo X\n" -> "X\n"; "big N\n" -> N bytes of 'a'..'z';
// "quit\n" -> "bye\n" then close_after_flush; "later A B\n" -> reserves a
// slot answered "A\n" after B ms by a *different thread* posting to the loop,
// while the next request may be answered first.
struct LineHandler : ConnectionHandler {
  std::atomic<int>* closes = nullptr;
  std::size_t on_data(Connection& c, std::span<std::byte> data) override {
    std::string_view s(reinterpret_cast<const char*>(data.data()), data.size());
    auto nl = s.find('\n');
    if (nl == std::string_view::npos) {
      if (s.size() > 1000) {  // protocol limit: answer before the buffer limit kicks in
        c.send_bytes("too long\n");
        c.close_after_flush();
        return s.size();
      }
      return 0;
    }
    std::string_view line = s.substr(0, nl);
    if (line.starts_with("echo ")) {
      c.send_bytes(std::string(line.substr(5)) + "\n");
    } else if (line.starts_with("big ")) {
      std::size_t n = std::stoul(std::string(line.substr(4)));
      std::string body(n, '\0');
      for (std::size_t i = 0; i < n; ++i) body[i] = static_cast<char>('a' + i % 26);
      c.send_bytes(std::move(body));
    } else if (line == "quit") {
      c.send_bytes("bye\n");
      c.close_after_flush();
    } else if (line.starts_with("later ")) {
      auto rest = std::string(line.substr(6));
      auto sp = rest.find(' ');
      std::string word = rest.substr(0, sp);
      int ms = std::stoi(rest.substr(sp + 1));
      auto slot = c.reserve();
      std::weak_ptr<Connection> w = c.shared_from_this();
      EventLoop_post_later(c.loop(), w, slot, word, ms);
    } else {
      c.send_bytes("?\n");
    }
    return nl + 1;
  }
  static void EventLoop_post_later(nocopy::net::EventLoop& loop, std::weak_ptr<Connection> w, Connection::SlotId slot,
                                   std::string word, int ms) {
    // Simulates a flusher thread completing an acks=all produce.
    std::thread([&loop, w, slot, word, ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      loop.post([w, slot, word] {
        if (auto c = w.lock(); c && c->is_open()) c->fulfill(slot, std::make_unique<nocopy::net::BytesOutbound>(word + "\n"));
      });
    }).detach();
  }
  void on_close(Connection&, CloseReason) override {
    if (closes) closes->fetch_add(1);
  }
};

struct PoolFixture {
  std::atomic<int> closes{0};
  std::unique_ptr<ReactorPool> pool;
  explicit PoolFixture(ReactorPool::Options o = {}) {
    pool = std::make_unique<ReactorPool>(o, [this](Connection&) {
      auto h = std::make_unique<LineHandler>();
      h->closes = &closes;
      return h;
    });
    pool->start();
  }
  ~PoolFixture() { pool->stop(1000ms); }
};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

}  // namespace

TEST(Listener, ParseAddress) {
  socklen_t len = 0;
  auto a = nocopy::net::parse_address("127.0.0.1:8080", &len);
  EXPECT_EQ(a.ss_family, AF_INET);
  EXPECT_EQ(nocopy::net::format_address(a), "127.0.0.1:8080");
  EXPECT_EQ(nocopy::net::format_address(nocopy::net::parse_address("[::1]:9092")), "[::1]:9092");
  EXPECT_EQ(nocopy::net::format_address(nocopy::net::parse_address(":80")), "0.0.0.0:80");
  EXPECT_THROW(nocopy::net::parse_address("127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(nocopy::net::parse_address("127.0.0.1:99999"), std::invalid_argument);
  EXPECT_THROW(nocopy::net::parse_address("127.0.0.1:8x"), std::invalid_argument);
}

TEST(Listener, BindInUseThrowsSystemError) {
  nocopy::net::EventLoop loop;
  nocopy::net::Listener::Options o;
  o.reuse_port = false;
  nocopy::net::Listener a(loop, "127.0.0.1:0", o);
  ASSERT_NE(a.port(), 0);
  EXPECT_THROW(nocopy::net::Listener(loop, "127.0.0.1:" + std::to_string(a.port()), o), std::system_error);
}

TEST(ReactorPool, EchoPipelinedInOrderAcrossThreads) {
  ReactorPool::Options o;
  o.threads = 2;
  PoolFixture f(o);
  ASSERT_NE(f.pool->port(), 0);
  for (int k = 0; k < 4; ++k) {
    Client c(f.pool->port());
    std::string req, want;
    for (int i = 0; i < 500; ++i) {
      req += "echo " + std::to_string(k) + "-" + std::to_string(i) + "\n";
      want += std::to_string(k) + "-" + std::to_string(i) + "\n";
    }
    ASSERT_TRUE(c.send_all(req));  // one burst: many requests per read
    EXPECT_EQ(c.read_n(want.size()), want);
  }
}

TEST(ReactorPool, RequestSplitAcrossManyWrites) {
  PoolFixture f;
  Client c(f.pool->port());
  std::string req = "echo hello-world\n";
  for (char ch : req) {
    ASSERT_TRUE(c.send_all(std::string(1, ch)));
    std::this_thread::sleep_for(1ms);  // force separate segments
  }
  EXPECT_EQ(c.read_n(12), "hello-world\n");
}

TEST(ReactorPool, ReservedSlotsKeepResponseOrder) {
  PoolFixture f;
  Client c(f.pool->port());
  // The first answer is produced 100 ms later by another thread; the second at once.
  ASSERT_TRUE(c.send_all("later first 100\necho second\nlater third 10\n"));
  EXPECT_EQ(c.read_n(19), "first\nsecond\nthird\n");
}

TEST(ReactorPool, LargeResponseAndCloseAfterFlush) {
  PoolFixture f;
  Client c(f.pool->port());
  const std::size_t n = 8u << 20;
  ASSERT_TRUE(c.send_all("big " + std::to_string(n) + "\nquit\n"));
  bool eof = false;
  std::string got = c.read_to_eof(&eof);
  EXPECT_TRUE(eof);
  ASSERT_EQ(got.size(), n + 4);
  for (std::size_t i = 0; i < n; i += 4097) ASSERT_EQ(got[i], static_cast<char>('a' + i % 26)) << i;
  EXPECT_EQ(got.substr(n), "bye\n");
}

TEST(ReactorPool, PeerHalfCloseStillGetsResponses) {
  PoolFixture f;
  Client c(f.pool->port());
  ASSERT_TRUE(c.send_all("echo a\necho b\n"));
  c.shutdown_write();
  bool eof = false;
  EXPECT_EQ(c.read_to_eof(&eof), "a\nb\n");
  EXPECT_TRUE(eof);
}

TEST(ReactorPool, BackpressureBoundsQueuedMemoryForNonReadingClient) {
  ReactorPool::Options o;
  o.connection.max_queued_bytes = 1 << 20;
  std::shared_ptr<Connection> seen;
  std::promise<std::shared_ptr<Connection>> conn_p;
  std::atomic<std::size_t> max_queued{0};
  struct H : LineHandler {
    std::atomic<std::size_t>* max_q;
    std::size_t on_data(Connection& c, std::span<std::byte> d) override {
      auto n = LineHandler::on_data(c, d);
      std::size_t q = c.queued_bytes();
      if (q > max_q->load()) max_q->store(q);
      return n;
    }
  };
  ReactorPool pool(o, [&](Connection& c) {
    conn_p.set_value(c.shared_from_this());
    auto h = std::make_unique<H>();
    h->max_q = &max_queued;
    return h;
  });
  pool.start();
  Client c(pool.port());
  c.set_rcvbuf(4096);
  // 2,000 requests for 64 KiB each = 125 MiB of responses, never read.
  std::string req;
  for (int i = 0; i < 2000; ++i) req += "big 65536\n";
  std::thread writer([&] { c.send_all(req); });  // blocks once the server stops reading
  auto conn = conn_p.get_future().get();
  std::promise<bool> paused;
  ASSERT_TRUE(wait_until([&] {
    std::promise<bool> p;
    auto f = p.get_future();
    pool.loop(0).post([&] { p.set_value(conn->reading_paused()); });
    return f.get();
  }));
  std::this_thread::sleep_for(50ms);
  // Limit + one response of overshoot.
  EXPECT_LE(max_queued.load(), (1u << 20) + 65536 + 1024);
  ::shutdown(c.fd(), SHUT_RDWR);  // unblocks the writer
  writer.join();
  pool.stop(0ms);
}

TEST(ReactorPool, IdleTimeoutClosesConnection) {
  ReactorPool::Options o;
  o.connection.idle_timeout = 100ms;
  PoolFixture f(o);
  Client c(f.pool->port());
  ASSERT_TRUE(c.send_all("echo x\n"));
  EXPECT_EQ(c.read_n(2), "x\n");
  auto t0 = std::chrono::steady_clock::now();
  bool eof = false;
  c.read_to_eof(&eof);
  EXPECT_TRUE(eof);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 80ms);
  EXPECT_LT(waited, 3s);
  EXPECT_TRUE(wait_until([&] { return f.closes.load() == 1; }));
}

TEST(ReactorPool, ConnectionLimitRejectsExtra) {
  ReactorPool::Options o;
  o.max_connections = 2;
  PoolFixture f(o);
  Client a(f.pool->port()), b(f.pool->port());
  ASSERT_TRUE(a.send_all("echo a\n"));
  ASSERT_TRUE(b.send_all("echo b\n"));
  EXPECT_EQ(a.read_n(2), "a\n");
  EXPECT_EQ(b.read_n(2), "b\n");
  Client extra(f.pool->port());
  bool eof = false;
  extra.send_all("echo c\n");
  EXPECT_EQ(extra.read_to_eof(&eof), "");
  EXPECT_TRUE(eof);
  EXPECT_TRUE(wait_until([&] { return f.pool->stats().rejected == 1; }));
  EXPECT_EQ(f.pool->stats().active, 2u);
}

TEST(ReactorPool, PerAddressLimitRejectsExtraFromOneAddress) {
  ReactorPool::Options o;
  o.max_connections_per_address = 2;
  PoolFixture f(o);
  auto a = std::make_unique<Client>(f.pool->port());
  Client b(f.pool->port());
  ASSERT_TRUE(a->send_all("echo a\n"));
  ASSERT_TRUE(b.send_all("echo b\n"));
  EXPECT_EQ(a->read_n(2), "a\n");
  EXPECT_EQ(b.read_n(2), "b\n");
  {
    Client extra(f.pool->port());
    bool eof = false;
    extra.send_all("echo c\n");
    EXPECT_EQ(extra.read_to_eof(&eof), "");
    EXPECT_TRUE(eof);
  }
  EXPECT_TRUE(wait_until([&] { return f.pool->stats().rejected == 1; }));
  a.reset();  // frees one of the address's slots
  EXPECT_TRUE(wait_until([&] { return f.pool->stats().active == 1; }));
  Client again(f.pool->port());
  ASSERT_TRUE(again.send_all("echo d\n"));
  EXPECT_EQ(again.read_n(2), "d\n");
}

TEST(ReactorPool, SeveralListenersEachKnownToTheirConnections) {
  ReactorPool::Options o;
  o.listens = {"127.0.0.1:0", "127.0.0.1:0"};
  o.threads = 2;
  std::atomic<int> seen_second{0};
  ReactorPool pool(o, [&](Connection& c) {
    if (c.listener_index() == 1) seen_second.fetch_add(1);
    return std::make_unique<LineHandler>();
  });
  pool.start();
  ASSERT_EQ(pool.listener_count(), 2u);
  ASSERT_NE(pool.port(0), pool.port(1));
  EXPECT_EQ(pool.port(), pool.port(0));
  for (std::size_t i = 0; i < 2; ++i) {
    Client c(pool.port(i));
    ASSERT_TRUE(c.send_all("echo x\n"));
    EXPECT_EQ(c.read_n(2), "x\n");
  }
  EXPECT_EQ(seen_second.load(), 1);
  pool.stop(1000ms);
}

TEST(ReactorPool, OverlongLineAnsweredByHandlerThenClosed) {
  PoolFixture f;
  Client c(f.pool->port());
  ASSERT_TRUE(c.send_all(std::string(5000, 'x')));
  bool eof = false;
  EXPECT_EQ(c.read_to_eof(&eof), "too long\n");
  EXPECT_TRUE(eof);
}

TEST(ReactorPool, ReadBufferLimitClosesWhenHandlerNeverConsumes) {
  ReactorPool::Options o;
  o.connection.max_read_buffer = 64;
  std::promise<CloseReason> why;
  struct Never : ConnectionHandler {
    std::promise<CloseReason>* p;
    std::size_t on_data(Connection&, std::span<std::byte>) override { return 0; }
    void on_close(Connection&, CloseReason r) override { p->set_value(r); }
  };
  ReactorPool pool(o, [&](Connection&) {
    auto h = std::make_unique<Never>();
    h->p = &why;
    return h;
  });
  pool.start();
  Client c(pool.port());
  c.send_all(std::string(1000, 'y'));
  auto f = why.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), CloseReason::read_buffer_full);
  pool.stop(0ms);
}

TEST(ReactorPool, ManyConnectionsOpenedAndDropped) {
  ReactorPool::Options o;
  o.threads = 2;
  PoolFixture f(o);
  for (int i = 0; i < 500; ++i) {
    Client c(f.pool->port());
    if (i % 2) c.send_all("echo partial-without-newline");
  }
  EXPECT_TRUE(wait_until([&] { return f.pool->stats().accepted == 500 && f.pool->stats().active == 0; }));
  Client c(f.pool->port());
  ASSERT_TRUE(c.send_all("echo alive\n"));
  EXPECT_EQ(c.read_n(6), "alive\n");
}

TEST(ReactorPool, GracefulStopFinishesInFlightResponse) {
  PoolFixture f;
  Client c(f.pool->port());
  // Larger than any kernel socket buffer: most of it is still queued in the
  // server when stop() begins (the client has not read anything yet).
  const std::size_t n = 32u << 20;
  ASSERT_TRUE(c.send_all("big " + std::to_string(n) + "\n"));
  ASSERT_TRUE(wait_until([&] {
    std::promise<std::size_t> p;
    auto fut = p.get_future();
    f.pool->loop(0).post([&] { p.set_value(f.pool->stats().active); });
    return fut.get() == 1;
  }));
  std::thread stopper([&] { f.pool->stop(5000ms); });
  bool eof = false;
  std::string got = c.read_to_eof(&eof);
  stopper.join();
  EXPECT_EQ(got.size(), n);
  EXPECT_TRUE(eof);
}

namespace {

// Frames of "<4-byte big-endian length><payload>": announces the length with
// expect_input, upper-cases the payload in place and echoes it; a payload
// "close" closes the connection from inside on_data.
struct FrameHandler : ConnectionHandler {
  std::atomic<int>* offers;
  std::atomic<int>* incomplete_offers;
  bool echo_big = true;  // false: a payload over 64 bytes is answered "<len><first><last>"
  std::size_t on_data(Connection& c, std::span<std::byte> data) override {
    offers->fetch_add(1);
    std::size_t used = 0;
    while (data.size() - used >= 4) {
      const auto* p = reinterpret_cast<const unsigned char*>(data.data() + used);
      std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
      if (data.size() - used < 4 + len) {
        incomplete_offers->fetch_add(1);
        c.expect_input(4 + len);
        break;
      }
      auto payload = data.subspan(used + 4, len);
      for (auto& b : payload) b = static_cast<std::byte>(std::toupper(std::to_integer<int>(b)));
      std::string s(reinterpret_cast<const char*>(payload.data()), payload.size());
      used += 4 + len;
      if (s == "CLOSE") {
        c.close();
        return used;
      }
      if (!echo_big && s.size() > 64) s = std::to_string(s.size()) + s.front() + s.back();
      c.send_bytes(std::move(s));
    }
    return used;
  }
};

std::string frame(const std::string& payload) {
  std::string f(4, '\0');
  const auto n = payload.size();
  f[0] = static_cast<char>(n >> 24);
  f[1] = static_cast<char>(n >> 16);
  f[2] = static_cast<char>(n >> 8);
  f[3] = static_cast<char>(n);
  return f + payload;
}

}  // namespace

TEST(ReactorPool, ExpectInputOffersALargeFrameOnceAndAllowsInPlaceEdits) {
  ReactorPool::Options o;
  o.connection.max_read_buffer = 8 << 20;
  std::atomic<int> offers{0}, incomplete{0};
  ReactorPool pool(o, [&](Connection&) {
    auto h = std::make_unique<FrameHandler>();
    h->offers = &offers;
    h->incomplete_offers = &incomplete;
    return h;
  });
  pool.start();
  Client c(pool.port());
  std::string big(3 << 20, 'q');
  for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = 'z';
  std::string upper = big;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::string wire = frame("small") + frame(big) + frame("tail");
  // Trickle it in 16 KiB pieces so the big frame arrives over ~190 reads.
  std::thread writer([&] {
    for (std::size_t off = 0; off < wire.size(); off += 16384) {
      ASSERT_TRUE(c.send_all(wire.substr(off, 16384)));
      if (off % (256 * 1024) == 0) std::this_thread::sleep_for(1ms);
    }
  });
  EXPECT_EQ(c.read_n(5), "SMALL");
  EXPECT_EQ(c.read_n(big.size()), upper);
  EXPECT_EQ(c.read_n(4), "TAIL");
  writer.join();
  // Without expect_input every read of the big frame would be offered (~190
  // times); with it, an incomplete frame is offered only until its length is
  // known plus the reads that split a header.
  EXPECT_LE(incomplete.load(), 6) << "offers " << offers.load();
  pool.stop(0ms);
}

TEST(ReactorPool, HandlerClosingInsideOnDataFromBufferedInputIsSafe) {
  // The close happens while on_data holds a span into the connection's own
  // buffer (a frame completed over several reads): ASan checks nothing is
  // freed under it, and later frames of the same read are not offered.
  std::atomic<int> offers{0}, incomplete{0};
  ReactorPool pool({}, [&](Connection&) {
    auto h = std::make_unique<FrameHandler>();
    h->offers = &offers;
    h->incomplete_offers = &incomplete;
    h->echo_big = false;
    return h;
  });
  pool.start();
  Client c(pool.port());
  const std::string wire = frame(std::string(99998, 'a') + "bc") + frame("close") + frame("never");
  ASSERT_TRUE(c.send_all(wire.substr(0, 50000)));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send_all(wire.substr(50000)));
  EXPECT_EQ(c.read_n(8), "100000AC");
  bool eof = false;
  EXPECT_EQ(c.read_to_eof(&eof), "");
  EXPECT_TRUE(eof);
  pool.stop(0ms);
}
