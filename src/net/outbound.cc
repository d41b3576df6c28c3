#include "net/outbound.h"

#include <sys/socket.h>

#include <cerrno>

namespace nocopy::net {

io::Result<io::Progress> BytesOutbound::write_some(int fd) {
  io::Progress p;
  while (sent_ < bytes_.size()) {
    ssize_t n = ::send(fd, bytes_.data() + sent_, bytes_.size() - sent_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        p.would_block = true;
        return p;
      }
      return io::fail(errno, "send");
    }
    sent_ += static_cast<std::size_t>(n);
    p.bytes += static_cast<std::size_t>(n);
  }
  return p;
}

}  // namespace nocopy::net
