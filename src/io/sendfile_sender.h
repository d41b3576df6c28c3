// Strategy::sendfile -- sendfile(2) from the page cache straight into the
// socket: no byte enters user space.
//
// Each call is capped at 1 GiB (the kernel refuses more than 2 GiB - 4 KiB
// per call). A 0 return before `len` means the file is shorter than
// offset+len (truncated while sending, or offset past the end): ENODATA.
// sendfile cannot take MSG_NOSIGNAL, so SIGPIPE is blocked for the call
// (SigpipeGuard) and a closed peer is IoError{EPIPE}.
#pragma once

#include "io/transfer.h"

namespace nocopy::io {

class SendfileSender final : public FileSender {
 public:
  // `max_per_call`: bytes asked of one sendfile() (default 1 GiB; tests use a
  // small value to exercise the splitting).
  explicit SendfileSender(std::size_t max_per_call = std::size_t{1} << 30) : max_per_call_(max_per_call) {}
  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  Strategy strategy() const override { return Strategy::sendfile; }

 private:
  std::size_t max_per_call_;
};

}  // namespace nocopy::io
