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

#include "io/pipe.h"
#include "io/transfer.h"

namespace nocopy::io {

class SpliceSender final : public FileSender {
 public:
  explicit SpliceSender(std::size_t pipe_size = 1 << 20) : pipe_size_(pipe_size) {}

  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  Strategy strategy() const override { return Strategy::splice; }

  std::size_t pipe_capacity() const noexcept { return pipe_.capacity(); }
  std::size_t bytes_in_pipe() const noexcept { return in_pipe_; }

 private:
  bool pending_matches(int file_fd, off_t offset);

  std::size_t pipe_size_;
  Pipe pipe_;
  // Bytes in the pipe: the file's bytes at [pend_offset_, pend_offset_ + in_pipe_).
  std::size_t in_pipe_ = 0;
  int pend_fd_ = -1;
  dev_t pend_dev_ = 0;
  ino_t pend_ino_ = 0;
  off_t pend_offset_ = 0;
};

}  // namespace nocopy::io
