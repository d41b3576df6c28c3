// Error and progress values for the hot I/O paths.
//
// Style (docs/architecture.md): setup and configuration throw
// std::system_error naming the syscall; hot paths return
// std::expected<Progress, IoError>, where "would block" is a normal outcome
// (Progress::would_block), never an error.
#pragma once

#include <cstddef>
#include <expected>
#include <string>

namespace nocopy::io {

// A failed syscall: errno plus the name of the call that failed, e.g.
// {EPIPE, "sendfile"}. Pseudo-errors use their own errno values:
//   ENODATA  "file truncated": a zero-copy source returned 0 (or SIGBUS risk)
//            before the requested length -- someone shrank the file.
struct IoError {
  int err = 0;
  const char* syscall = "";
  std::string detail;  // optional extra context (path, offsets)

  std::string message() const;  // "sendfile: Broken pipe (EPIPE)" + detail
};

// Outcome of one *_some call. `bytes` may be less than asked for; when it is,
// `would_block` says whether the stop was EAGAIN (retry after the fd is
// writable) rather than the end of the requested range.
struct Progress {
  std::size_t bytes = 0;
  bool would_block = false;
};

template <class T>
using Result = std::expected<T, IoError>;

inline std::unexpected<IoError> fail(int err, const char* syscall, std::string detail = {}) {
  return std::unexpected<IoError>(IoError{err, syscall, std::move(detail)});
}

}  // namespace nocopy::io
