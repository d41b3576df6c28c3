#include "serve/access_log.h"

#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "serve/http_date.h"

namespace nocopy::serve {

void AccessLog::record(std::string_view client, std::time_t when, std::string_view request_line, int status,
                       std::uint64_t body_bytes) {
  if (fd_ < 0) return;
  if (when != cached_time_) {
    cached_time_ = when;
    cached_clf_ = format_clf_time(when);
  }
  // The request line is client-controlled: escape quotes, backslashes and
  // non-printable bytes so one request cannot forge log lines.
  std::string line;
  line.reserve(request_line.size() + 16);
  for (unsigned char c : request_line) {
    if (c == '"' || c == '\\') {
      line += '\\';
      line += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      fmt::format_to(std::back_inserter(line), "\\x{:02X}", c);
    } else {
      line += static_cast<char>(c);
    }
  }
  if (body_bytes > 0) {
    fmt::format_to(std::back_inserter(buf_), "{} - - [{}] \"{}\" {} {}\n", client, cached_clf_, line, status,
                   body_bytes);
  } else {
    fmt::format_to(std::back_inserter(buf_), "{} - - [{}] \"{}\" {} -\n", client, cached_clf_, line, status);
  }
  if (buf_.size() >= 64 * 1024) flush();
}

void AccessLog::flush() {
  std::size_t off = 0;
  while (fd_ >= 0 && off < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN on a non-blocking stdout or EPIPE: drop the rest rather than stall a reactor
    }
    off += static_cast<std::size_t>(n);
  }
  buf_.clear();
}

}  // namespace nocopy::serve
