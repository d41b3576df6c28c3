// RAII pipe (both ends O_CLOEXEC) with F_SETPIPE_SZ.
//
// Thread-safety: one owner; the descriptors may be used from several threads
// as with any pipe.
#pragma once

#include <cstddef>

#include "io/fd.h"

namespace nocopy::io {

class Pipe {
 public:
  // Creates a pipe and, if `size` > 0, asks for that capacity (F_SETPIPE_SZ).
  // A refused request (EPERM above /proc/sys/fs/pipe-max-size, EBUSY) keeps
  // the default; capacity() reports what the kernel granted. Throws
  // std::system_error("pipe2") when the pipe cannot be created.
  static Pipe create(std::size_t size = 0, int flags = 0);

  int read_fd() const noexcept { return r_.get(); }
  int write_fd() const noexcept { return w_.get(); }
  std::size_t capacity() const noexcept { return capacity_; }
  explicit operator bool() const noexcept { return static_cast<bool>(r_); }

  // Asks for a new capacity; returns the granted one (unchanged on refusal).
  std::size_t resize(std::size_t size);

 private:
  Fd r_;
  Fd w_;
  std::size_t capacity_ = 0;
};

}  // namespace nocopy::io
