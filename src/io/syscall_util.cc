#include "io/syscall_util.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "io/sigpipe_guard.h"

namespace nocopy::io::detail {

long long file_size(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return -1;
  return static_cast<long long>(st.st_size);
}

IoError truncated(const char* syscall, int file_fd, std::uint64_t at, std::uint64_t want_end) {
  return IoError{ENODATA, syscall,
                 fmt::format("file truncated or offset past end: fd {} has {} bytes, needed [{}, {})",
                             file_fd, file_size(file_fd), at, want_end)};
}

std::string where(int file_fd, off_t offset, int sock_fd) {
  return fmt::format("file fd {} offset {} -> fd {}", file_fd, offset, sock_fd);
}

ssize_t write_nosignal(int fd, const void* p, std::size_t n, const char** syscall) {
  *syscall = "send";
  ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
  if (r < 0 && errno == ENOTSOCK) {
    *syscall = "write";
    SigpipeGuard guard;
    r = ::write(fd, p, n);
    if (r < 0 && errno == EPIPE) guard.note_epipe();
  }
  return r;
}

}  // namespace nocopy::io::detail
