#include "io/sendfile_sender.h"

#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>

#include "io/sigpipe_guard.h"
#include "io/syscall_util.h"

namespace nocopy::io {

Result<Progress> SendfileSender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  Progress p;
  if (len == 0) return p;
  SigpipeGuard guard;
  off_t off = offset;
  while (p.bytes < len) {
    const std::size_t want = std::min(len - p.bytes, max_per_call_);
    const ssize_t n = ::sendfile(sock_fd, file_fd, &off, want);
    ++counters_.syscalls;
    if (n > 0) {
      p.bytes += static_cast<std::size_t>(n);
      counters_.bytes_zero_copy += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) {
      // "sendfile returned 0: someone truncated the file" (or offset >= size).
      return std::unexpected(detail::truncated("sendfile", file_fd, static_cast<std::uint64_t>(off),
                                               static_cast<std::uint64_t>(offset) + len));
    }
    const int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN) {
      p.would_block = true;
      return p;
    }
    if (e == EPIPE) guard.note_epipe();
    return fail(e, "sendfile", detail::where(file_fd, off, sock_fd));
  }
  return p;
}

}  // namespace nocopy::io
