// Listener: a non-blocking listening TCP socket registered with an EventLoop.
//
// bind(): "host:port" or [v6]:port; port 0 picks a free port, port() reports
// it. With reuse_port, several Listeners (one per reactor thread) bind the
// same address and the kernel spreads incoming connections across them.
//
// Accepting: on readiness, accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) until EAGAIN
// (at most `max_accepts_per_event`, for fairness) and hand each fd to the
// callback, which then owns it. EMFILE/ENFILE/ENOBUFS/ENOMEM: the listener
// stops accepting for 100 ms (level-triggered epoll would otherwise spin) and
// logs once per pause. ECONNABORTED/EPERM/EPROTO: skipped.
//
// Thread-safety: loop thread only (after construction). Errors at setup throw
// std::system_error naming the syscall.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <string>

#include "net/event_loop.h"

namespace nocopy::net {

// Parses "127.0.0.1:8080", "0.0.0.0:0", "[::1]:9092", ":8080" (= 0.0.0.0),
// "localhost:80". Throws std::invalid_argument.
sockaddr_storage parse_address(const std::string& host_port, socklen_t* len_out = nullptr);
std::string format_address(const sockaddr_storage& addr);

class Listener {
 public:
  using AcceptCallback = std::function<void(int fd)>;

  struct Options {
    bool reuse_port = true;
    int backlog = 4096;
    int max_accepts_per_event = 64;
  };

  // Binds and listens (throws). Not yet registered: call start().
  Listener(EventLoop& loop, const std::string& host_port, const Options& opts);
  Listener(EventLoop& loop, const std::string& host_port) : Listener(loop, host_port, Options{}) {}
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start(AcceptCallback cb);
  // Stops accepting and closes the socket (connections already accepted are
  // unaffected). Idempotent.
  void close();

  std::uint16_t port() const { return port_; }
  const sockaddr_storage& address() const { return addr_; }
  int fd() const { return fd_; }
  std::uint64_t accepted() const { return accepted_; }

 private:
  void on_readable();

  EventLoop& loop_;
  Options opts_;
  int fd_ = -1;
  sockaddr_storage addr_{};
  std::uint16_t port_ = 0;
  AcceptCallback cb_;
  bool registered_ = false;
  EventLoop::TimerId pause_timer_ = 0;
  std::uint64_t accepted_ = 0;
};

}  // namespace nocopy::net
