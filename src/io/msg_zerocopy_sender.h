// Strategy::msg_zerocopy -- send(MSG_ZEROCOPY) from an mmap'd window of the
// file. Each send pins its window (shared_ptr<const Mapping>) until the
// kernel's completion is read from the socket's error queue, so a window is
// never unmapped while the kernel may still read it.
//
// Completions are reaped at the start of every send_some() when any are
// outstanding, by reap(), and by drain() (call before closing the socket).
// ENOBUFS (too many notifications outstanding) falls back to a plain send for
// that chunk; a socket refusing SO_ZEROCOPY falls back for every chunk; both
// count in counters().fallbacks. Truncation: as mmap_write (ENODATA, no
// SIGBUS). Sends below SenderOptions::zerocopy_threshold are plain sends.
//
// memory() gives the underlying ZeroCopyMemorySender so that buf can send
// memory segments on the same socket with consistent zero-copy ids.
#pragma once

#include <sys/types.h>

#include <memory>

#include "io/mapped_source.h"
#include "io/mapping.h"
#include "io/transfer.h"
#include "io/zero_copy_memory_sender.h"

namespace nocopy::io {

class MsgZeroCopySender final : public FileSender {
 public:
  explicit MsgZeroCopySender(const SenderOptions& opts = {});
  // mem_ counts into this object's counters_: not copyable or movable.
  MsgZeroCopySender(const MsgZeroCopySender&) = delete;
  MsgZeroCopySender& operator=(const MsgZeroCopySender&) = delete;

  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  Result<std::size_t> reap(int sock_fd) override { return mem_.reap(sock_fd); }
  Result<void> drain(int sock_fd, int timeout_ms = 5000) override { return mem_.drain(sock_fd, timeout_ms); }
  bool completions_on_socket() const override { return true; }
  std::size_t outstanding(int sock_fd) const override { return mem_.outstanding(sock_fd); }
  void forget(int sock_fd) override { mem_.forget(sock_fd); }
  Strategy strategy() const override { return Strategy::msg_zerocopy; }
  const char* fallback_reason() const override { return mem_.fallback_reason(); }

  ZeroCopyMemorySender& memory() { return mem_; }

 private:
  std::size_t chunk_;
  ZeroCopyMemorySender mem_;
  MappedSource source_;
};

}  // namespace nocopy::io
