#include "broker/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "net/listener.h"

namespace nocopy::broker {

namespace {
[[noreturn]] void throw_sys(const char* call) { throw std::system_error(errno, std::generic_category(), call); }
}  // namespace

MetricsServer::MetricsServer(const HostPort& listen, std::function<std::string()> render)
    : render_(std::move(render)) {
  socklen_t len = 0;
  auto addr = net::parse_address(listen.to_string(), &len);
  listen_fd_ = io::Fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_) throw_sys("socket");
  int one = 1;
  ::setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) throw_sys("bind (metrics)");
  if (::listen(listen_fd_.get(), 64) != 0) throw_sys("listen");
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd_ = io::Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_) throw_sys("eventfd");
  thread_ = std::thread([this] { run(); });
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::run() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    io::Fd c(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) continue;  // ECONNABORTED, EMFILE...: try again on the next readiness
    serve_one(c.get());
  }
}

void MetricsServer::serve_one(int fd) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos && req.size() < 8192) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    req.append(buf, static_cast<std::size_t>(n));
  }
  std::string body, status = "200 OK";
  if (req.rfind("GET /metrics", 0) == 0) {
    body = render_();
  } else {
    status = "404 Not Found";
    body = "try GET /metrics\n";
  }
  std::string resp = "HTTP/1.0 " + status +
                     "\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body;
  std::size_t off = 0;
  while (off < resp.size()) {
    auto n = ::send(fd, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace nocopy::broker
