#include "io/pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <system_error>

namespace nocopy::io {

Pipe Pipe::create(std::size_t size, int flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | flags) != 0) throw std::system_error(errno, std::system_category(), "pipe2");
  Pipe p;
  p.r_.reset(fds[0]);
  p.w_.reset(fds[1]);
  const int cur = ::fcntl(fds[1], F_GETPIPE_SZ);
  p.capacity_ = cur > 0 ? static_cast<std::size_t>(cur) : 65536;
  if (size > 0) p.resize(size);
  return p;
}

std::size_t Pipe::resize(std::size_t size) {
  if (size > static_cast<std::size_t>(INT_MAX)) size = static_cast<std::size_t>(INT_MAX);
  const int got = ::fcntl(w_.get(), F_SETPIPE_SZ, static_cast<int>(size));
  if (got > 0) capacity_ = static_cast<std::size_t>(got);
  return capacity_;
}

}  // namespace nocopy::io
