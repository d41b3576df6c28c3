// File -> socket transfer, one strategy per technique, behind one interface.
//
// Contract of FileSender::send_some(file, offset, len, sock):
//  * moves up to `len` bytes of `file` starting at `offset` to `sock`;
//  * on a non-blocking socket returns as soon as the socket would block
//    (Progress{moved, would_block=true}); call again with offset+moved when
//    the socket is writable -- no byte is lost or sent twice;
//  * on a blocking socket returns when `len` bytes were moved or on error;
//  * never raises SIGPIPE: send*() use MSG_NOSIGNAL; sendfile/splice run
//    under a SigpipeGuard (io/sigpipe_guard.h: two rt_sigprocmask calls per
//    send_some, none after io::ignore_sigpipe_process_wide(), which servers
//    should call at startup); a closed peer is IoError{EPIPE or ECONNRESET};
//  * a source shorter than offset+len (truncated while sending, or an offset
//    past the end) is IoError{ENODATA, ...}, never a SIGBUS, never a hang;
//  * a bad descriptor is EBADF, a directory as the source EISDIR or EINVAL;
//  * each call adds to counters().
//
// Zero-copy strategies whose memory must outlive the call (msg_zerocopy,
// uring_send_zc) keep their mapping references until the kernel's completion
// arrives: call reap() when the socket's error queue is readable (EPOLLERR) or
// periodically, and drain() before closing the socket to wait for them all.
//
// Thread-safety: a FileSender is used by one thread at a time.
//
// One class per strategy (each header documents its own details):
// ReadWriteSender, MmapWriteSender, SendfileSender, SpliceSender,
// UringSpliceSender, UringSendZcSender, MsgZeroCopySender. File -> file:
// FileCopier (io/file_copier.h). Memory MSG_ZEROCOPY: ZeroCopyMemorySender.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "io/counters.h"
#include "io/error.h"
#include "io/strategy.h"

namespace nocopy::io {

struct SenderOptions {
  std::size_t chunk_size = 1 << 20;     // read_write buffer / per-call cap for mmap paths
  std::size_t pipe_size = 1 << 20;      // splice: F_SETPIPE_SZ request
  std::size_t zerocopy_threshold = 0;   // msg_zerocopy / send_zc: below this, plain send
  // Test hook: uring_* strategies behave as if their opcode were missing and
  // take their fallback (visible in fallback_reason() and counters).
  bool force_fallback = false;
};

class FileSender {
 public:
  virtual ~FileSender() = default;

  virtual Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) = 0;

  // Reaps pending zero-copy completions without blocking; returns how many
  // sends are still outstanding. No-op (0) for strategies without them.
  virtual Result<std::size_t> reap(int sock_fd) { (void)sock_fd; return 0; }
  // Blocks until every outstanding zero-copy send completed (or timeout).
  virtual Result<void> drain(int sock_fd, int timeout_ms = 5000) {
    (void)sock_fd; (void)timeout_ms; return {};
  }

  // Zero-copy completion plumbing for an event loop (net::ZeroCopyCompletions);
  // the defaults describe a sender without completions.
  //  * completions_on_socket(): completions are queued on each socket's error
  //    queue (MSG_ZEROCOPY): the socket polls EPOLLERR until reap() read them,
  //    and must stay open until outstanding(sock) is 0 or the caller gives up.
  //  * completion_fd(): a descriptor, not tied to any socket, that polls
  //    readable while completions wait (io_uring SEND_ZC: the ring); -1 if none.
  //    Valid while the sender lives.
  //  * outstanding(sock): sends on `sock` whose memory the kernel may still
  //    read (0 where the sender does not track completions per socket).
  //  * forget(sock): drops what the sender holds for `sock` (call right before
  //    closing it, so that a reused descriptor number starts fresh).
  virtual bool completions_on_socket() const { return false; }
  virtual int completion_fd() const { return -1; }
  virtual std::size_t outstanding(int sock_fd) const { (void)sock_fd; return 0; }
  virtual void forget(int sock_fd) { (void)sock_fd; }

  virtual Strategy strategy() const = 0;
  // When the requested strategy was unavailable and another one is used, the
  // reason ("io_uring: IORING_OP_SEND_ZC not supported"), else empty.
  virtual const char* fallback_reason() const { return ""; }

  const Counters& counters() const { return counters_; }
  void reset_counters() { counters_ = {}; }

 protected:
  // Sends through `inner` (a fallback) and adds everything it counted to this
  // sender's counters, so a fallback's work shows under the strategy asked for.
  Result<Progress> send_via(FileSender& inner, int file_fd, off_t offset, std::size_t len, int sock_fd) {
    const Counters before = inner.counters();
    auto r = inner.send_some(file_fd, offset, len, sock_fd);
    counters_ += inner.counters() - before;
    return r;
  }

  Counters counters_;
};

// Creates the sender for `s` (file -> socket strategies only). Throws
// std::invalid_argument for copy_file_range / direct_io.
std::unique_ptr<FileSender> make_sender(Strategy s, const SenderOptions& opts = {});

// Whether the running kernel supports `s` (probing io_uring opcodes, etc.),
// with a human-readable reason when it does not.
struct Availability {
  bool available = true;
  std::string reason;
};
Availability probe(Strategy s);

}  // namespace nocopy::io
