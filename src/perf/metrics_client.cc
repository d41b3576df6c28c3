#include "perf/metrics_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "perf/payload.h"

namespace nocopy::perf {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view metric_name(std::string_view key) {
  const auto brace = key.find('{');
  return brace == std::string_view::npos ? key : key.substr(0, brace);
}

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

// Waits for `events` until the deadline; throws on timeout.
void wait_for(int fd, short events, std::uint64_t deadline_ns, const char* what) {
  for (;;) {
    const std::uint64_t now = monotonic_ns();
    if (now >= deadline_ns) throw std::system_error(ETIMEDOUT, std::generic_category(), what);
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>((deadline_ns - now) / 1'000'000 + 1));
    if (r > 0) return;
    if (r < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
  }
}

}  // namespace

Metrics Metrics::parse(std::string_view text) {
  Metrics m;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line.front() == '#') continue;
    // The key ends at the closing brace of the labels, or at the first space.
    std::size_t key_end;
    const auto brace = line.find('{');
    const auto space = line.find_first_of(" \t");
    if (brace != std::string_view::npos && (space == std::string_view::npos || brace < space)) {
      const auto close = line.find('}', brace);
      if (close == std::string_view::npos) continue;
      key_end = close + 1;
    } else {
      key_end = space;
    }
    if (key_end == std::string_view::npos || key_end >= line.size()) continue;
    std::string_view value = trim(line.substr(key_end));
    const auto vend = value.find_first_of(" \t");
    if (vend != std::string_view::npos) value = value.substr(0, vend);  // drop timestamp
    const std::string vs(value);
    char* end = nullptr;
    const double v = std::strtod(vs.c_str(), &end);
    if (end == vs.c_str()) continue;
    m.series_[std::string(line.substr(0, key_end))] = v;
  }
  return m;
}

double Metrics::sum(std::string_view name) const {
  double total = 0;
  for (auto it = series_.lower_bound(name); it != series_.end(); ++it) {
    if (it->first.compare(0, name.size(), name) != 0) break;
    if (metric_name(it->first) == name) total += it->second;
  }
  return total;
}

bool Metrics::has(std::string_view name) const {
  for (auto it = series_.lower_bound(name); it != series_.end(); ++it) {
    if (it->first.compare(0, name.size(), name) != 0) break;
    if (metric_name(it->first) == name) return true;
  }
  return false;
}

std::string http_get(const std::string& host, std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout) {
  const std::uint64_t deadline =
      monotonic_ns() + static_cast<std::uint64_t>(std::chrono::nanoseconds(timeout).count());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr)
      throw std::system_error(EHOSTUNREACH, std::generic_category(), "getaddrinfo " + host);
    addr.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
    ::freeaddrinfo(res);
  }
  Socket s;
  s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS) throw std::system_error(errno, std::generic_category(), "connect");
    wait_for(s.fd, POLLOUT, deadline, "connect");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw std::system_error(err, std::generic_category(), "connect");
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    const ssize_t n = ::send(s.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_for(s.fd, POLLOUT, deadline, "send");
    } else {
      throw std::system_error(n < 0 ? errno : EPIPE, std::generic_category(), "send");
    }
  }
  std::string resp;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n > 0) {
      resp.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;  // server closed: the body is complete (HTTP/1.0)
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(s.fd, POLLIN, deadline, "recv");
    } else {
      throw std::system_error(errno, std::generic_category(), "recv");
    }
  }
  const auto header_end = resp.find("\r\n\r\n");
  if (header_end == std::string::npos) throw std::runtime_error("http_get: no header end in response from " + host);
  const auto sp = resp.find(' ');
  if (sp == std::string::npos || resp.compare(sp + 1, 3, "200") != 0)
    throw std::runtime_error("http_get " + path + ": " + resp.substr(0, resp.find('\r')));
  std::string body = resp.substr(header_end + 4);
  return body;
}

}  // namespace nocopy::perf
