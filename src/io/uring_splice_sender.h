// Strategy::uring_splice -- the splice strategy's file -> pipe -> socket
// moves issued as linked IORING_OP_SPLICE pairs through io_uring: one
// io_uring_enter per chunk instead of two splice() calls.
//
// Progress and pipe bookkeeping as SpliceSender (bytes left in the pipe after
// EAGAIN go out first on the next call for the same file and offset). On a
// non-blocking socket the socket side is only submitted after poll() says it
// is writable (io_uring would otherwise park the request until it is).
// When the kernel lacks IORING_OP_SPLICE, or io_uring cannot be set up, every
// call goes through a SpliceSender instead: fallback_reason() says why, and
// counters().fallbacks counts the calls.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "io/splice_pipe.h"
#include "io/splice_sender.h"
#include "io/transfer.h"
#include "io/uring.h"

namespace nocopy::io {

class UringSpliceSender final : public FileSender {
 public:
  explicit UringSpliceSender(const SenderOptions& opts = {});

  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  Strategy strategy() const override { return Strategy::uring_splice; }
  const char* fallback_reason() const override { return fallback_reason_.c_str(); }

 private:
  Result<Progress> fallback_send(int file_fd, off_t offset, std::size_t len, int sock_fd);
  // send_some's steps: whether a non-blocking socket can take more (poll,
  // EINTR retried); one round of file -> pipe (when `fill`) and pipe ->
  // socket splices linked in the ring, answering their results.
  Result<bool> writable(int file_fd, off_t at, int sock_fd);
  struct SpliceResults {
    int file = 1;    // file -> pipe: bytes, or -errno (1 when not submitted)
    int socket = 0;  // pipe -> socket: bytes, or -errno
  };
  Result<SpliceResults> splice_round(int file_fd, off_t at, int sock_fd, std::size_t want, bool fill,
                                     unsigned sock_flags);

  std::unique_ptr<Uring> ring_;
  std::unique_ptr<SpliceSender> fallback_;
  std::string fallback_reason_;
  detail::SplicePipe pipe_;
};

}  // namespace nocopy::io
