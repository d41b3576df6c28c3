// MappedSource: the part every mapping-based sender (mmap_write,
// msg_zerocopy, uring_send_zc) shares -- validate the source file for one
// send_some() call and keep a window of it mapped across calls.
//
// begin() fstat()s the file: a directory or other non-regular file is
// EISDIR/EINVAL, a range beyond the file's current size is ENODATA ("file
// truncated") before anything is sent, and a descriptor that now names
// another file drops the old window. window_at() returns the window holding a
// file offset, mapping a new one (page aligned, at most `window_bytes`, never
// beyond the size begin() saw) when needed. Zero-copy senders pass the
// returned shared_ptr along with each send so in-flight sends keep their
// window mapped after this object moved on.
// Thread-safety: one thread at a time, like the senders that own it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>

#include "io/counters.h"
#include "io/error.h"
#include "io/mapping.h"

namespace nocopy::io {

class MappedSource {
 public:
  explicit MappedSource(std::size_t window_bytes);

  Result<void> begin(int file_fd, off_t offset, std::size_t len, int sock_fd, Counters& counters);
  Result<std::shared_ptr<const Mapping>> window_at(int file_fd, off_t at, Counters& counters);
  // Forgets the current window (e.g. after the kernel faulted reading it).
  void reset() noexcept { window_.reset(); }

  // The whole send_some() loop of a mapping-based sender: begin(), then for
  // each window `send(bytes, window, file_offset) -> Result<Progress>` with at
  // most `max_per_send` bytes, until `len` bytes went, the socket would block
  // or an error. EFAULT from a file that shrank under its mapping becomes
  // ENODATA ("file truncated").
  template <class Send>
  Result<Progress> send_windows(int file_fd, off_t offset, std::size_t len, int sock_fd, Counters& counters,
                                std::size_t max_per_send, Send&& send) {
    Progress p;
    if (len == 0) return p;
    if (auto ok = begin(file_fd, offset, len, sock_fd, counters); !ok) return std::unexpected(ok.error());
    while (p.bytes < len) {
      const off_t at = offset + static_cast<off_t>(p.bytes);
      auto w = window_at(file_fd, at, counters);
      if (!w) return std::unexpected(w.error());
      const std::shared_ptr<const Mapping>& win = *w;
      const std::size_t skip = static_cast<std::size_t>(at - win->offset());
      std::size_t want = std::min(len - p.bytes, win->size() - skip);
      if (want > max_per_send) want = max_per_send;
      Result<Progress> r = send(std::span<const std::byte>(win->data() + skip, want), win, at);
      if (!r) return std::unexpected(truncation_or(std::move(r.error()), file_fd, at, offset, len));
      p.bytes += r->bytes;
      if (r->would_block) {
        p.would_block = true;
        return p;
      }
    }
    return p;
  }

 private:
  // `e` unless it is the EFAULT of a source that shrank below offset+len.
  IoError truncation_or(IoError e, int file_fd, off_t at, off_t offset, std::size_t len);

  std::size_t window_bytes_;
  std::shared_ptr<const Mapping> window_;
  struct stat st_{};
  int win_fd_ = -1;
  dev_t win_dev_ = 0;
  ino_t win_ino_ = 0;
};

}  // namespace nocopy::io
