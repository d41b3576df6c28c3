#include "io/fd.h"

#include <unistd.h>

namespace nocopy::io {

void Fd::reset(int fd) noexcept {
  const int old = std::exchange(fd_, fd);
  // Linux releases the descriptor even when close() fails with EINTR, so the
  // call is never retried (retrying could close a descriptor another thread
  // just received).
  if (old >= 0) ::close(old);
}

}  // namespace nocopy::io
