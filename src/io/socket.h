// RAII TCP sockets and the socket options the transfer paths need.
//
// Setup calls (socket, bind, listen, connect, accept, setsockopt for buffer
// sizes) throw std::system_error naming the syscall. set_cork() is used per
// response on the hot path and returns io::Result instead.
// Thread-safety: a Socket is owned by one thread at a time; the free functions
// act on the descriptor only.
#pragma once

#include <cstdint>
#include <string>

#include "io/error.h"
#include "io/fd.h"

namespace nocopy::io {

class Socket {
 public:
  Socket() = default;
  explicit Socket(Fd fd) noexcept : fd_(std::move(fd)) {}

  // A TCP listener on 127.0.0.1:`port` (0 = any free port; see local_port()).
  // SO_REUSEADDR is set.
  static Socket listen_loopback(std::uint16_t port = 0, int backlog = 128);
  // A listener on `host` (dotted IPv4, "0.0.0.0" for all) : `port`.
  static Socket listen_tcp(const std::string& host, std::uint16_t port, int backlog = 128);
  // Blocking connect to an IPv4 address; returns a blocking socket.
  static Socket connect_tcp(const std::string& host, std::uint16_t port);

  // Blocking accept (restarts on EINTR). The new socket is blocking.
  Socket accept() const;

  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }
  Fd release_fd() noexcept { return std::move(fd_); }
  void close() noexcept { fd_.reset(); }

  std::uint16_t local_port() const;  // getsockname

  void set_nonblocking(bool on = true) const;
  void set_nodelay(bool on = true) const;
  Result<void> set_cork(bool on) const;
  int set_sndbuf(int bytes) const;  // returns the size the kernel granted (SO_SNDBUF readback)
  int set_rcvbuf(int bytes) const;

 private:
  Fd fd_;
};

// Free-function forms for code that holds raw descriptors.
void set_nonblocking(int fd, bool on = true);          // fcntl O_NONBLOCK
bool is_nonblocking(int fd);
void set_nodelay(int fd, bool on = true);              // TCP_NODELAY
Result<void> set_cork(int fd, bool on);                // TCP_CORK
int set_sndbuf(int fd, int bytes);                     // returns granted size
int set_rcvbuf(int fd, int bytes);

// A connected loopback TCP pair (both ends blocking), for tests and
// benchmarks: `client` connected to `server` through a throwaway listener.
struct SocketPair {
  Socket client;
  Socket server;
};
SocketPair connected_pair();

}  // namespace nocopy::io
