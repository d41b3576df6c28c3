// Strategy::mmap_write -- mmap a window of the file and send() from the
// mapping (3 copies: the page cache is mapped, not read).
//
// Windows are max(chunk_size, kWindowBytes) bytes, never beyond the file's
// size at the time of mapping, and kept across calls for the same file; each
// send() writes at most chunk_size bytes (the same syscall size as read_write,
// so the two compare fairly). Each call fstat()s the file: a range beyond its end is ENODATA
// before anything is sent. If the file shrinks during the send, the kernel's
// copy from the mapping fails with EFAULT inside send() (no SIGBUS: user code
// never touches the mapping) and the call returns ENODATA "file truncated".
// send() uses MSG_NOSIGNAL.
#pragma once

#include <sys/types.h>

#include <memory>

#include "io/mapped_source.h"
#include "io/mapping.h"
#include "io/transfer.h"

namespace nocopy::io {

class MmapWriteSender final : public FileSender {
 public:
  explicit MmapWriteSender(std::size_t chunk_size = 1 << 20);

  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  Strategy strategy() const override { return Strategy::mmap_write; }

 static constexpr std::size_t kWindowBytes = 16u << 20;

 private:
  std::size_t chunk_;
  MappedSource source_;
};

}  // namespace nocopy::io
