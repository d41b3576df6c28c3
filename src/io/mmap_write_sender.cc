#include "io/mmap_write_sender.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/syscall_util.h"

namespace nocopy::io {

MmapWriteSender::MmapWriteSender(std::size_t chunk_size)
    : source_(std::max(chunk_size, kWindowBytes)) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  chunk_ = std::max(page, chunk_size / page * page);
}

Result<Progress> MmapWriteSender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  return source_.send_windows(
      file_fd, offset, len, sock_fd, counters_, std::min(chunk_, detail::kMaxPerCall),
      [&](std::span<const std::byte> bytes, const std::shared_ptr<const Mapping>&, off_t at) -> Result<Progress> {
        const char* call = "send";
        for (;;) {
          const ssize_t n = detail::write_nosignal(sock_fd, bytes.data(), bytes.size(), &call);
          ++counters_.syscalls;
          if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return Progress{0, true};
            return fail(errno, call, detail::where(file_fd, at, sock_fd));
          }
          if (n == 0) return fail(EIO, call, "wrote 0 bytes");
          // send() copies from the (user-space) mapping into the socket buffer.
          counters_.bytes_copied_user += static_cast<std::size_t>(n);
          return Progress{static_cast<std::size_t>(n), false};
        }
      });
}

}  // namespace nocopy::io
