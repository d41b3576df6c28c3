#include "io/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

namespace nocopy::io {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

sockaddr_in make_addr(const std::string& host, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    throw std::system_error(EINVAL, std::system_category(), fmt::format("inet_pton {}", host));
  }
  return a;
}

void set_int_opt(int fd, int level, int opt, int value, const char* name) {
  if (::setsockopt(fd, level, opt, &value, sizeof value) != 0) {
    throw_errno(fmt::format("setsockopt {} fd {}", name, fd));
  }
}

int get_int_opt(int fd, int level, int opt, const char* name) {
  int v = 0;
  socklen_t l = sizeof v;
  if (::getsockopt(fd, level, opt, &v, &l) != 0) throw_errno(fmt::format("getsockopt {} fd {}", name, fd));
  return v;
}

}  // namespace

Socket Socket::listen_tcp(const std::string& host, std::uint16_t port, int backlog) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  set_int_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  const sockaddr_in a = make_addr(host, port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    throw_errno(fmt::format("bind {}:{}", host, port));
  }
  if (::listen(fd.get(), backlog) != 0) throw_errno("listen");
  return Socket(std::move(fd));
}

Socket Socket::listen_loopback(std::uint16_t port, int backlog) { return listen_tcp("127.0.0.1", port, backlog); }

Socket Socket::connect_tcp(const std::string& host, std::uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  const sockaddr_in a = make_addr(host, port);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    // A blocking connect interrupted by a signal continues in the background:
    // EALREADY/EISCONN are progress, not failure.
    if (errno != EISCONN) throw_errno(fmt::format("connect {}:{}", host, port));
  }
  return Socket(std::move(fd));
}

Socket Socket::accept() const {
  int c;
  do {
    c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
  } while (c < 0 && (errno == EINTR || errno == ECONNABORTED));
  if (c < 0) throw_errno("accept4");
  return Socket(Fd(c));
}

std::uint16_t Socket::local_port() const {
  sockaddr_in a{};
  socklen_t l = sizeof a;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &l) != 0) throw_errno("getsockname");
  return ntohs(a.sin_port);
}

void Socket::set_nonblocking(bool on) const { io::set_nonblocking(fd_.get(), on); }
void Socket::set_nodelay(bool on) const { io::set_nodelay(fd_.get(), on); }
Result<void> Socket::set_cork(bool on) const { return io::set_cork(fd_.get(), on); }
int Socket::set_sndbuf(int bytes) const { return io::set_sndbuf(fd_.get(), bytes); }
int Socket::set_rcvbuf(int bytes) const { return io::set_rcvbuf(fd_.get(), bytes); }

void set_nonblocking(int fd, bool on) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) throw_errno(fmt::format("fcntl F_GETFL fd {}", fd));
  const int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  if (nfl != fl && ::fcntl(fd, F_SETFL, nfl) != 0) throw_errno(fmt::format("fcntl F_SETFL fd {}", fd));
}

bool is_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) throw_errno(fmt::format("fcntl F_GETFL fd {}", fd));
  return (fl & O_NONBLOCK) != 0;
}

void set_nodelay(int fd, bool on) { set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "TCP_NODELAY"); }

Result<void> set_cork(int fd, bool on) {
  const int v = on ? 1 : 0;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v) != 0) {
    return fail(errno, "setsockopt", fmt::format("TCP_CORK={} fd {}", v, fd));
  }
  return {};
}

int set_sndbuf(int fd, int bytes) {
  set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, bytes, "SO_SNDBUF");
  return get_int_opt(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
}

int set_rcvbuf(int fd, int bytes) {
  set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, bytes, "SO_RCVBUF");
  return get_int_opt(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
}

SocketPair connected_pair() {
  Socket listener = Socket::listen_loopback(0, 1);
  SocketPair p;
  p.client = Socket::connect_tcp("127.0.0.1", listener.local_port());
  p.server = listener.accept();
  return p;
}

}  // namespace nocopy::io
