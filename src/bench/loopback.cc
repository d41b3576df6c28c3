#include "bench/loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace nocopy::bench {

namespace {
[[noreturn]] void fail(const char* call) { throw std::system_error(errno, std::generic_category(), call); }
}  // namespace

SocketPair make_loopback_pair() {
  io::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
  if (::listen(listener.get(), 1) != 0) fail("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");

  SocketPair pair;
  pair.sender = io::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!pair.sender) fail("socket");
  // A connect interrupted by a signal completes asynchronously: a retry then
  // reports EALREADY (still going) or EISCONN (done).
  while (::connect(pair.sender.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EISCONN) break;
    if (errno != EINTR && errno != EALREADY) fail("connect");
  }
  while (true) {
    const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      pair.receiver = io::Fd(fd);
      break;
    }
    if (errno != EINTR) fail("accept4");
  }
  return pair;
}

}  // namespace nocopy::bench
