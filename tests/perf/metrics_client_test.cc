#include "perf/metrics_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace nocopy::perf {
namespace {

// A one-shot HTTP server on 127.0.0.1 and a port the kernel picks.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response, bool respond = true) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, respond] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      request_ = req;
      if (respond) {
        // Dribble the response in small pieces: the client must reassemble.
        for (std::size_t i = 0; i < response_.size(); i += 7)
          ::send(c, response_.data() + i, std::min<std::size_t>(7, response_.size() - i), MSG_NOSIGNAL);
      } else {
        ::recv(c, buf, sizeof buf, 0);  // hold the connection until the client gives up
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::string response_;
  std::string request_;
  std::thread thread_;
};

}  // namespace

TEST(Metrics, ParsesPrometheusText) {
  const auto m = Metrics::parse(
      "# HELP nocopy_bytes_copied_user_total bytes\n"
      "# TYPE nocopy_bytes_copied_user_total counter\n"
      "nocopy_bytes_copied_user_total{strategy=\"read_write\"} 1024\n"
      "nocopy_bytes_copied_user_total{strategy=\"sendfile\",x=\"a b\"} 1e3 1700000000\n"
      "nocopy_bytes_copied_user_total_extra 5\n"
      "up 1\n"
      "broken_line_without_value\n");
  EXPECT_DOUBLE_EQ(m.sum("nocopy_bytes_copied_user_total"), 2024.0);
  EXPECT_DOUBLE_EQ(m.sum("up"), 1.0);
  EXPECT_DOUBLE_EQ(m.sum("nocopy_bytes_copied_user_total_extra"), 5.0);
  EXPECT_TRUE(m.has("up"));
  EXPECT_FALSE(m.has("u"));
  EXPECT_FALSE(m.has("broken_line_without_value"));
  EXPECT_EQ(m.series().size(), 4u);
}

TEST(HttpGet, FetchesBodyFromRealSocket) {
  OneShotServer srv("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfoo_total 42\n");
  const std::string body = http_get("127.0.0.1", srv.port(), "/metrics", std::chrono::milliseconds(2000));
  EXPECT_EQ(body, "foo_total 42\n");
  EXPECT_EQ(Metrics::parse(body).sum("foo_total"), 42.0);
}

TEST(HttpGet, Non200IsAnError) {
  OneShotServer srv("HTTP/1.0 404 Not Found\r\n\r\nnope");
  EXPECT_THROW(http_get("127.0.0.1", srv.port(), "/metrics", std::chrono::milliseconds(2000)), std::runtime_error);
}

TEST(HttpGet, SilentServerTimesOut) {
  OneShotServer srv("", /*respond=*/false);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(http_get("127.0.0.1", srv.port(), "/metrics", std::chrono::milliseconds(200)), std::system_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(HttpGet, RefusedConnectionIsAnError) {
  std::uint16_t port;
  {
    OneShotServer srv("HTTP/1.0 200 OK\r\n\r\n");
    port = srv.port();
    http_get("127.0.0.1", port, "/", std::chrono::milliseconds(2000));
  }
  EXPECT_THROW(http_get("127.0.0.1", port, "/", std::chrono::milliseconds(2000)), std::system_error);
}

}  // namespace nocopy::perf
