// Small helpers shared by the transfer strategies (internal to src/io).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "io/error.h"

namespace nocopy::io::detail {

// Largest byte count handed to one sendfile/splice/write call: below the
// kernel's MAX_RW_COUNT (2 GiB - 4 KiB), page aligned.
inline constexpr std::size_t kMaxPerCall = std::size_t{1} << 30;
static_assert(kMaxPerCall < (std::size_t{2} << 30) - 4096);

// The ENODATA error for a source that ended before `want_end`:
// "<syscall>: No data available (ENODATA): file truncated: fd 5 has 100 bytes, ..."
IoError truncated(const char* syscall, int file_fd, std::uint64_t at, std::uint64_t want_end);

// Context for a failed transfer call: "file fd 5 offset 10 -> fd 7".
std::string where(int file_fd, off_t offset, int sock_fd);

// send(MSG_NOSIGNAL), falling back to write() under a SigpipeGuard when `fd`
// is not a socket (a pipe or a file). Returns the syscall's result with errno
// set; `*syscall` names the call made.
ssize_t write_nosignal(int fd, const void* p, std::size_t n, const char** syscall);

// Current size of `fd` or -1.
long long file_size(int fd);

}  // namespace nocopy::io::detail
