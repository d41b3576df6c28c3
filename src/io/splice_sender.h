// Strategy::splice -- file -> pipe -> socket with splice(2); the pipe is
// created once (SenderOptions::pipe_size, F_SETPIPE_SZ) and reused.
//
// Progress counts bytes that reached the socket. When the socket would block,
// bytes already spliced into the pipe stay there (they cannot be un-read);
// the next call that continues the same file at offset + moved sends them
// first. A call for another file or offset discards them by replacing the
// pipe. splice cannot take MSG_NOSIGNAL: SIGPIPE is blocked for the call.
#pragma once

#include <sys/types.h>

#include "io/splice_pipe.h"
#include "io/transfer.h"

namespace nocopy::io {

class SpliceSender final : public FileSender {
 public:
  explicit SpliceSender(std::size_t pipe_size = 1 << 20) : pipe_(pipe_size) {}

  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  Strategy strategy() const override { return Strategy::splice; }

  std::size_t pipe_capacity() const noexcept { return pipe_.pipe().capacity(); }
  std::size_t bytes_in_pipe() const noexcept { return pipe_.held(); }

 private:
  detail::SplicePipe pipe_;
};

}  // namespace nocopy::io
