// A read-only shared mapping of a window of a file, unmapped on destruction.
//
// Zero-copy senders hold a std::shared_ptr<const Mapping> for every send the
// kernel may still read from, and drop it only at the send's completion.
//
// Safety: the mapping covers at most the file's size when it was created.
// User code in nocopy never dereferences mapped bytes (a file truncated under
// a mapping turns a user-space read into SIGBUS); only the kernel reads them,
// and its copy from a page beyond EOF fails with EFAULT inside the syscall.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>

#include "io/error.h"

namespace nocopy::io {

class Mapping {
 public:
  // Maps [offset, offset+len) of `fd` (offset need not be page aligned).
  static Result<std::shared_ptr<const Mapping>> map(int fd, off_t offset, std::size_t len);
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  // Address of the byte at file offset `offset()`; never read it in user code.
  const std::byte* data() const noexcept { return base_ + lead_; }
  std::size_t size() const noexcept { return len_; }
  off_t offset() const noexcept { return offset_; }
  bool contains(off_t off, std::size_t n) const noexcept {
    return off >= offset_ && static_cast<std::size_t>(off - offset_) + n <= len_;
  }

 private:
  Mapping(std::byte* base, std::size_t map_len, std::size_t lead, off_t offset, std::size_t len)
      : base_(base), map_len_(map_len), lead_(lead), offset_(offset), len_(len) {}
  std::byte* base_;
  std::size_t map_len_;
  std::size_t lead_;
  off_t offset_;
  std::size_t len_;
};

}  // namespace nocopy::io
