#include "net/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

namespace nocopy::net {

namespace {
[[noreturn]] void throw_errno(const char* call, const std::string& what = {}) {
  throw std::system_error(errno, std::generic_category(), what.empty() ? call : std::string(call) + " " + what);
}
}  // namespace

sockaddr_storage parse_address(const std::string& host_port, socklen_t* len_out) {
  std::string host;
  std::string port;
  if (!host_port.empty() && host_port.front() == '[') {
    auto close = host_port.find(']');
    if (close == std::string::npos || close + 1 >= host_port.size() || host_port[close + 1] != ':')
      throw std::invalid_argument("bad address '" + host_port + "' (want [v6]:port)");
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    auto colon = host_port.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("bad address '" + host_port + "' (want host:port)");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535)
    throw std::invalid_argument("bad port in '" + host_port + "'");

  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(p));
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(p));
    len = sizeof(sockaddr_in6);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || !res) throw std::invalid_argument("cannot resolve '" + host + "': " + ::gai_strerror(rc));
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    ::freeaddrinfo(res);
    if (ss.ss_family == AF_INET) v4->sin_port = htons(static_cast<std::uint16_t>(p));
    else v6->sin6_port = htons(static_cast<std::uint16_t>(p));
  }
  if (len_out) *len_out = len;
  return ss;
}

std::string format_address(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "?";
}

Listener::Listener(EventLoop& loop, const std::string& host_port, const Options& opts) : loop_(loop), opts_(opts) {
  socklen_t len = 0;
  addr_ = parse_address(host_port, &len);
  fd_ = ::socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  int one = 1;
  if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      (opts_.reuse_port && ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)) {
    int e = errno;
    ::close(fd_);
    errno = e;
    throw_errno("setsockopt(SO_REUSEADDR/SO_REUSEPORT)");
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr_), len) < 0) {
    int e = errno;
    ::close(fd_);
    errno = e;
    throw_errno("bind", host_port);
  }
  if (::listen(fd_, opts_.backlog) < 0) {
    int e = errno;
    ::close(fd_);
    errno = e;
    throw_errno("listen", host_port);
  }
  socklen_t alen = sizeof addr_;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &alen) < 0) {
    int e = errno;
    ::close(fd_);
    errno = e;
    throw_errno("getsockname");
  }
  port_ = addr_.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&addr_)->sin_port)
                                     : ntohs(reinterpret_cast<sockaddr_in6*>(&addr_)->sin6_port);
}

Listener::~Listener() { close(); }

void Listener::start(AcceptCallback cb) {
  cb_ = std::move(cb);
  if (fd_ < 0 || registered_) return;
  loop_.add(fd_, EPOLLIN, [this](std::uint32_t) { on_readable(); });
  registered_ = true;
}

void Listener::close() {
  if (pause_timer_) {
    loop_.cancel(pause_timer_);
    pause_timer_ = 0;
  }
  if (fd_ < 0) return;
  if (registered_) loop_.remove(fd_);
  registered_ = false;
  ::close(fd_);
  fd_ = -1;
}

void Listener::on_readable() {
  for (int i = 0; i < opts_.max_accepts_per_event && fd_ >= 0; ++i) {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      ++accepted_;
      cb_(c);
      continue;
    }
    switch (errno) {
      case EINTR:
      case ECONNABORTED:
      case EPERM:
      case EPROTO:
        continue;
      case EAGAIN:
#if EAGAIN != EWOULDBLOCK
      case EWOULDBLOCK:
#endif
        return;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM: {
        spdlog::warn("accept4: {}; pausing accepts for 100 ms", std::strerror(errno));
        loop_.modify(fd_, 0);
        pause_timer_ = loop_.run_after(std::chrono::milliseconds(100), [this] {
          pause_timer_ = 0;
          if (fd_ >= 0) loop_.modify(fd_, EPOLLIN);
        });
        return;
      }
      default:
        spdlog::error("accept4: {}", std::strerror(errno));
        return;
    }
  }
}

}  // namespace nocopy::net
