#include "buf/chain_sender.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <limits>

namespace nocopy::buf {

namespace {

// Per-sendmsg caps: the kernel's own limit on iovecs, and a byte total well
// below MAX_RW_COUNT (INT_MAX rounded to a page), beyond which Linux silently
// shortens the transfer anyway.
constexpr std::size_t kMaxIov = IOV_MAX;
constexpr std::size_t kMaxBytesPerCall = std::size_t{1} << 30;

}  // namespace

ChainSender::ChainSender(const ChainSenderOptions& options)
    : owned_(io::make_sender(options.strategy, options.sender)), file_(owned_.get()) {}

ChainSender::ChainSender(io::FileSender& file_sender) : file_(&file_sender) {}

io::Result<io::Progress> ChainSender::send_memory_once(int sock, Chain& chain) {
  iovec iov[kMaxIov];
  std::size_t n_iov = 0;
  std::size_t want = 0;
  bool file_next = false;  // a file region follows the bytes of this call
  for (const Segment& s : chain.segments()) {
    const auto* b = std::get_if<Buffer>(&s);
    if (b == nullptr) {
      file_next = true;
      break;
    }
    if (n_iov == kMaxIov || want == kMaxBytesPerCall) break;
    const std::size_t len = std::min(b->size(), kMaxBytesPerCall - want);
    iov[n_iov++] = iovec{const_cast<std::byte*>(b->data()), len};
    want += len;
    if (len < b->size()) break;
  }
  // MSG_MORE before a file region: the kernel holds a small header back and
  // sends it in one segment with the body's first bytes, which the file send
  // (sendfile, send, ...) then pushes -- what TCP_CORK does, without its two
  // setsockopt calls. Chains never hold empty regions, so a push follows.
  const int flags = MSG_NOSIGNAL | (file_next ? MSG_MORE : 0);

  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n_iov;
  for (;;) {
    ++memory_.syscalls;
    const ssize_t n = ::sendmsg(sock, &msg, flags);
    if (n > 0) {
      const auto sent = static_cast<std::size_t>(n);
      memory_.bytes_copied_user += sent;
      chain.trim_front(sent);
      return io::Progress{sent, false};
    }
    if (n == 0) return io::fail(EIO, "sendmsg", "sent 0 of " + std::to_string(want) + " bytes");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return io::Progress{0, true};
    return io::fail(errno, "sendmsg");
  }
}

io::Result<io::Progress> ChainSender::send_some(int sock, Chain& chain) {
  io::Progress total;

  // Short transfers are retried until the chain is empty or an explicit
  // EAGAIN: with edge-triggered epoll, stopping early on a short write could
  // wait for an edge that never comes.
  while (!chain.empty()) {
    const Segment& front = chain.front();
    io::Progress step;
    if (!is_file(front)) {
      auto r = send_memory_once(sock, chain);
      if (!r) return std::unexpected(std::move(r.error()));
      step = *r;
    } else {
      const FileRegion& region = std::get<FileRegion>(front);
      const std::size_t len = static_cast<std::size_t>(
          std::min<std::uint64_t>(region.length, std::numeric_limits<std::size_t>::max()));
      auto r = file_->send_some(region.file->fd(), static_cast<off_t>(region.offset), len, sock);
      if (!r) return std::unexpected(std::move(r.error()));
      step = *r;
      if (step.bytes > len) {
        return io::fail(EIO, "send_some", "file sender reported more bytes than asked for");
      }
      chain.trim_front(step.bytes);
      if (step.bytes == 0 && !step.would_block) {
        return io::fail(EIO, "send_some",
                        std::string("file sender (") +
                            std::string(io::to_string(file_->strategy())) + ") made no progress");
      }
    }
    total.bytes += step.bytes;
    if (step.would_block) {
      total.would_block = true;
      return total;
    }
  }

  return total;
}

}  // namespace nocopy::buf
