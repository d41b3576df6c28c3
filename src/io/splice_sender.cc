#include "io/splice_sender.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "io/sigpipe_guard.h"
#include "io/syscall_util.h"

namespace nocopy::io {

Result<Progress> SpliceSender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  Progress p;
  if (len == 0) return p;
  pipe_.prepare(file_fd, offset, counters_);
  const Pipe& pipe = pipe_.pipe();
  SigpipeGuard guard;
  while (p.bytes < len) {
    const off_t at = offset + static_cast<off_t>(p.bytes);
    if (pipe_.held() == 0) {
      loff_t off = at;
      const std::size_t want = std::min(len - p.bytes, pipe.capacity());
      const ssize_t n = ::splice(file_fd, &off, pipe.write_fd(), nullptr, want, SPLICE_F_MOVE);
      ++counters_.syscalls;
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno, "splice", detail::where(file_fd, at, pipe.write_fd()) + " (file -> pipe)");
      }
      if (n == 0) {
        return std::unexpected(detail::truncated("splice", file_fd, static_cast<std::uint64_t>(at),
                                                 static_cast<std::uint64_t>(offset) + len));
      }
      pipe_.filled(static_cast<std::size_t>(n));
    }
    const std::size_t want = std::min(pipe_.held(), len - p.bytes);
    const unsigned more = (p.bytes + want < len) ? SPLICE_F_MORE : 0;
    const ssize_t m = ::splice(pipe.read_fd(), nullptr, sock_fd, nullptr, want, SPLICE_F_MOVE | more);
    ++counters_.syscalls;
    if (m < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN) {
        pipe_.keep(file_fd, at, counters_);
        p.would_block = true;
        return p;
      }
      if (e == EPIPE) guard.note_epipe();
      pipe_.discard();
      return fail(e, "splice", detail::where(file_fd, at, sock_fd) + " (pipe -> socket)");
    }
    if (m == 0) return fail(EIO, "splice", "pipe -> socket moved 0 bytes");
    pipe_.drained(static_cast<std::size_t>(m));
    p.bytes += static_cast<std::size_t>(m);
    counters_.bytes_zero_copy += static_cast<std::size_t>(m);
  }
  pipe_.sent_up_to(offset + static_cast<off_t>(len));
  return p;
}

}  // namespace nocopy::io
