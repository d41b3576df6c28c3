#include "io/splice_sender.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "io/sigpipe_guard.h"
#include "io/syscall_util.h"

namespace nocopy::io {

bool SpliceSender::pending_matches(int file_fd, off_t offset) {
  if (file_fd != pend_fd_ || offset != pend_offset_) return false;
  struct stat st{};
  ++counters_.syscalls;
  if (::fstat(file_fd, &st) != 0) return false;
  return st.st_dev == pend_dev_ && st.st_ino == pend_ino_;
}

Result<Progress> SpliceSender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  Progress p;
  if (len == 0) return p;
  if (!pipe_) {
    pipe_ = Pipe::create(pipe_size_);
    counters_.syscalls += 3;
  }
  if (in_pipe_ > 0 && !pending_matches(file_fd, offset)) {
    pipe_ = Pipe::create(pipe_size_);  // drop stale bytes of an abandoned transfer
    counters_.syscalls += 3;
    in_pipe_ = 0;
  }
  SigpipeGuard guard;
  while (p.bytes < len) {
    const off_t at = offset + static_cast<off_t>(p.bytes);
    if (in_pipe_ == 0) {
      loff_t off = at;
      const std::size_t want = std::min(len - p.bytes, pipe_.capacity());
      const ssize_t n = ::splice(file_fd, &off, pipe_.write_fd(), nullptr, want, SPLICE_F_MOVE);
      ++counters_.syscalls;
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno, "splice", detail::where(file_fd, at, pipe_.write_fd()) + " (file -> pipe)");
      }
      if (n == 0) {
        return std::unexpected(detail::truncated("splice", file_fd, static_cast<std::uint64_t>(at),
                                                 static_cast<std::uint64_t>(offset) + len));
      }
      in_pipe_ = static_cast<std::size_t>(n);
    }
    const std::size_t want = std::min(in_pipe_, len - p.bytes);
    const unsigned more = (p.bytes + want < len) ? SPLICE_F_MORE : 0;
    const ssize_t m = ::splice(pipe_.read_fd(), nullptr, sock_fd, nullptr, want, SPLICE_F_MOVE | more);
    ++counters_.syscalls;
    if (m < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN) {
        struct stat st{};
        ++counters_.syscalls;
        if (::fstat(file_fd, &st) == 0) {
          pend_fd_ = file_fd;
          pend_dev_ = st.st_dev;
          pend_ino_ = st.st_ino;
          pend_offset_ = at;
        } else {
          pend_fd_ = -1;
        }
        p.would_block = true;
        return p;
      }
      if (e == EPIPE) guard.note_epipe();
      in_pipe_ = 0;
      pipe_ = Pipe();  // contents are garbage now
      return fail(e, "splice", detail::where(file_fd, at, sock_fd) + " (pipe -> socket)");
    }
    if (m == 0) return fail(EIO, "splice", "pipe -> socket moved 0 bytes");
    in_pipe_ -= static_cast<std::size_t>(m);
    p.bytes += static_cast<std::size_t>(m);
    counters_.bytes_zero_copy += static_cast<std::size_t>(m);
  }
  // Bytes may remain in the pipe only if a previous call spliced more than
  // this call's len; they continue the same file at offset + len.
  if (in_pipe_ > 0) {
    pend_offset_ = offset + static_cast<off_t>(len);
  }
  return p;
}

}  // namespace nocopy::io
