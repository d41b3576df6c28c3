// Strategy::read_write -- the traditional path: pread() the file into a user
// buffer of SenderOptions::chunk_size bytes, send() it out (4 copies: disk ->
// page cache -> user buffer -> socket buffer -> NIC).
//
// Counters: bytes_copied_user counts each byte once, when it is read into the
// buffer (it is copied again by send(); the figure is "bytes that passed
// through user space", not "memcpy count").
//
// Partial progress: when the socket would block, the unsent tail of the
// buffer is kept and reused by the next call if that call continues the same
// file (same inode, offset == previous offset + moved); otherwise it is
// dropped and the file re-read. send() uses MSG_NOSIGNAL; a non-socket
// destination (pipe, file) is written with write() under a SigpipeGuard.
#pragma once

#include <sys/types.h>

#include <memory>

#include "io/kept_position.h"
#include "io/transfer.h"

namespace nocopy::io {

class ReadWriteSender final : public FileSender {
 public:
  explicit ReadWriteSender(std::size_t chunk_size = 1 << 20);

  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  Strategy strategy() const override { return Strategy::read_write; }

 private:
  std::size_t chunk_;
  struct FreeDeleter {
    void operator()(std::byte* p) const noexcept;
  };
  // Page-aligned: a malloc'd buffer 16 bytes off a cache line measurably
  // slows the copies in and out of it.
  std::unique_ptr<std::byte[], FreeDeleter> buf_;
  // Unsent bytes buf_[begin_, end_) are the file's bytes at kept_.
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  detail::KeptPosition kept_;
};

}  // namespace nocopy::io
