// Common-log-format access log, buffered per reactor thread:
//   127.0.0.1 - - [21/Nov/2026:06:00:35 +0000] "GET /a.txt HTTP/1.1" 200 1234
// One AccessLog per thread (no locking): lines accumulate in memory and go
// out in one write(2) when the buffer passes 64 KiB, when flush() is called
// (the server calls it every second and at shutdown). Each flush is a single
// write of whole lines to an O_APPEND file or stdout, so lines from different
// threads never interleave mid-line (for writes up to PIPE_BUF on pipes;
// regular files with O_APPEND are written atomically per call).
// Disabled: record() is a no-op (costs nothing).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace nocopy::serve {

class AccessLog {
 public:
  AccessLog() = default;  // disabled
  explicit AccessLog(int fd) : fd_(fd) {}
  ~AccessLog() { flush(); }
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void set_fd(int fd) { fd_ = fd; }  // not owned; -1 disables
  bool enabled() const { return fd_ >= 0; }
  void record(std::string_view client, std::time_t when, std::string_view request_line, int status,
              std::uint64_t body_bytes);
  void flush();

 private:
  int fd_ = -1;  // not owned
  std::string buf_;
  std::time_t cached_time_ = -1;
  std::string cached_clf_;
};

}  // namespace nocopy::serve
