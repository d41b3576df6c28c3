#include "io/zero_copy_memory_sender.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/syscall_util.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

namespace nocopy::io {

ZeroCopyMemorySender::SocketState& ZeroCopyMemorySender::state(int sock) {
  SocketState& st = sockets_[sock];
  // The descriptor may have been closed and reused for another socket, whose
  // zero-copy ids restart at 0: compare the socket's inode.
  struct stat sb{};
  ++sink_->syscalls;
  if (::fstat(sock, &sb) == 0 && st.probed && sb.st_ino != st.ino) {
    if (st.queue.outstanding() > 0) {
      spdlog::warn("io: fd {} reused with {} zero-copy sends outstanding (closed without drain())", sock,
                   st.queue.outstanding());
    }
    st = SocketState{};
  }
  if (!st.probed) {
    st.ino = sb.st_ino;
    st.probed = true;
    const int one = 1;
    ++sink_->syscalls;
    if (::setsockopt(sock, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) == 0) {
      st.zerocopy = true;
    } else {
      fallback_reason_ = fmt::format("setsockopt(SO_ZEROCOPY) on fd {}: {}; plain send() instead", sock,
                                     std::strerror(errno));
      spdlog::debug("io: {}", fallback_reason_);
    }
  }
  return st;
}

Result<Progress> ZeroCopyMemorySender::send_some(std::span<const std::byte> data, std::shared_ptr<const void> owner,
                                                 int sock) {
  Progress p;
  if (data.empty()) return p;
  SocketState& st = state(sock);
  if (st.queue.outstanding() > 0) {
    auto r = st.queue.reap(sock, *sink_);
    if (!r) return std::unexpected(r.error());
  }
  while (p.bytes < data.size()) {
    const std::size_t want = std::min(data.size() - p.bytes, detail::kMaxPerCall);
    const std::byte* src = data.data() + p.bytes;
    bool zc = st.zerocopy && want >= threshold_;
    if (!st.zerocopy && want >= threshold_) ++sink_->fallbacks;  // the socket refused SO_ZEROCOPY
    const char* call = "sendmsg";
    ssize_t n = -1;
    if (zc) {
      if (inject_enobufs_ > 0) {
        --inject_enobufs_;
        errno = ENOBUFS;
      } else {
        iovec iov{const_cast<std::byte*>(src), want};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        n = ::sendmsg(sock, &msg, MSG_ZEROCOPY | MSG_NOSIGNAL);
        ++sink_->syscalls;
      }
      if (n < 0 && errno == ENOBUFS) {
        // Too many notifications outstanding (optmem limit): copy this one.
        ++sink_->fallbacks;
        zc = false;
      }
    }
    if (!zc) {
      call = "send";
      n = ::send(sock, src, want, MSG_NOSIGNAL);
      ++sink_->syscalls;
    }
    if (n < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN) {
        p.would_block = true;
        return p;
      }
      return fail(e, call, fmt::format("fd {}", sock));
    }
    if (n == 0) return fail(EIO, call, "sent 0 bytes");
    if (zc) {
      st.queue.sent(owner);
      sink_->bytes_zero_copy += static_cast<std::size_t>(n);
    } else {
      sink_->bytes_copied_user += static_cast<std::size_t>(n);
    }
    p.bytes += static_cast<std::size_t>(n);
  }
  return p;
}

Result<std::size_t> ZeroCopyMemorySender::reap(int sock) {
  auto it = sockets_.find(sock);
  if (it == sockets_.end()) return 0;
  return it->second.queue.reap(sock, *sink_);
}

Result<void> ZeroCopyMemorySender::drain(int sock, int timeout_ms) {
  auto it = sockets_.find(sock);
  if (it == sockets_.end()) return {};
  return it->second.queue.drain(sock, timeout_ms, *sink_);
}

std::size_t ZeroCopyMemorySender::outstanding(int sock) const {
  auto it = sockets_.find(sock);
  return it == sockets_.end() ? 0 : it->second.queue.outstanding();
}

}  // namespace nocopy::io
