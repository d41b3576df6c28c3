#include "io/read_write_sender.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "io/syscall_util.h"

namespace nocopy::io {

void ReadWriteSender::FreeDeleter::operator()(std::byte* p) const noexcept { std::free(p); }

ReadWriteSender::ReadWriteSender(std::size_t chunk_size) : chunk_(std::max<std::size_t>(chunk_size, 4096)) {}

Result<Progress> ReadWriteSender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  Progress p;
  if (len == 0) return p;
  if (!buf_) {
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t bytes = (chunk_ + page - 1) / page * page;
    buf_.reset(static_cast<std::byte*>(std::aligned_alloc(page, bytes)));
    if (!buf_) return fail(ENOMEM, "aligned_alloc");
  }
  if (begin_ == end_ || !kept_.continued_by(file_fd, offset, counters_)) begin_ = end_ = 0;
  // Never send more than asked even if the kept buffer holds more.
  if (end_ - begin_ > len) end_ = begin_ + len;

  while (p.bytes < len) {
    const off_t at = offset + static_cast<off_t>(p.bytes);
    if (begin_ == end_) {
      const std::size_t want = std::min(len - p.bytes, chunk_);
      const ssize_t n = ::pread(file_fd, buf_.get(), want, at);
      ++counters_.syscalls;
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno, "pread", detail::where(file_fd, at, sock_fd));
      }
      if (n == 0) {
        return std::unexpected(detail::truncated("pread", file_fd, static_cast<std::uint64_t>(at),
                                                 static_cast<std::uint64_t>(offset) + len));
      }
      counters_.bytes_copied_user += static_cast<std::size_t>(n);
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const char* call = "send";
    const ssize_t w = detail::write_nosignal(sock_fd, buf_.get() + begin_, end_ - begin_, &call);
    ++counters_.syscalls;
    if (w < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN) {
        if (!kept_.remember(file_fd, at, counters_)) begin_ = end_ = 0;
        p.would_block = true;
        return p;
      }
      begin_ = end_ = 0;
      return fail(e, call, detail::where(file_fd, at, sock_fd));
    }
    begin_ += static_cast<std::size_t>(w);
    p.bytes += static_cast<std::size_t>(w);
  }
  begin_ = end_ = 0;
  return p;
}

}  // namespace nocopy::io
