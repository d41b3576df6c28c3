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

io::Result<io::Progress> Outbound::write_some_to(io::ByteSink&) {
  return io::fail(ENOTSUP, "write_some_to", "this item cannot be sent through a TLS session");
}

io::Result<io::Progress> BytesOutbound::write_some_to(io::ByteSink& sink) {
  io::Progress total;
  while (sent_ < bytes_.size()) {
    auto r = sink.write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes_.data()) + sent_,
                                                   bytes_.size() - sent_));
    if (!r) return r;
    sent_ += r->bytes;
    total.bytes += r->bytes;
    if (r->would_block) {
      total.would_block = true;
      break;
    }
    if (r->bytes == 0) break;  // no progress: the queue reports it
  }
  return total;
}

}  // namespace nocopy::net
