// MSG_ZEROCOPY sends of user memory, for buf (and for MsgZeroCopySender,
// which sends its file mappings through it).
//
// send_some(data, owner, sock) sends from `data` with send(MSG_ZEROCOPY |
// MSG_NOSIGNAL) and keeps `owner` (whatever keeps `data` alive) until the
// kernel's completion for that send was read from the error queue (reap(),
// drain()). Memory is therefore never released or reused before the kernel
// is done with it. The caller must not modify `data` until then either.
//
// Fallbacks to a plain copying send(), each counted in counters().fallbacks:
//  * the socket refuses SO_ZEROCOPY (not TCP, old kernel): every send, and
//    fallback_reason() says why;
//  * send(MSG_ZEROCOPY) fails with ENOBUFS (the socket's optmem limit for
//    outstanding notifications): that send only.
// Sends smaller than `threshold` are plain sends by design (not fallbacks):
// MSG_ZEROCOPY costs more than a copy below ~10 KB.
//
// Progress and errors as FileSender::send_some (would_block on EAGAIN; EPIPE /
// ECONNRESET for a closed peer, never SIGPIPE).
// reap() reads the socket's whole error queue (until EAGAIN): call it when
// the socket polls EPOLLERR with SO_ERROR 0 -- that is the completions
// arriving, not a failure.
// Thread-safety: one thread at a time; one sender per socket for zero-copy
// sends (see ZeroCopyQueue).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "io/counters.h"
#include "io/error.h"
#include "io/zero_copy_queue.h"

namespace nocopy::io {

class ZeroCopyMemorySender {
 public:
  // `sink`: where to count (defaults to this object's own counters()).
  explicit ZeroCopyMemorySender(std::size_t threshold = 0, Counters* sink = nullptr)
      : threshold_(threshold), sink_(sink ? sink : &own_) {}
  // sink_ may point into this object: not copyable or movable.
  ZeroCopyMemorySender(const ZeroCopyMemorySender&) = delete;
  ZeroCopyMemorySender& operator=(const ZeroCopyMemorySender&) = delete;

  Result<Progress> send_some(std::span<const std::byte> data, std::shared_ptr<const void> owner, int sock);

  Result<std::size_t> reap(int sock);
  Result<void> drain(int sock, int timeout_ms = 5000);
  // Sends still waiting for their completion on `sock`.
  std::size_t outstanding(int sock) const;
  // Forgets a socket's state: call once its completions were read (drain(),
  // or an event loop's reaps) and before closing it, so that a descriptor
  // number reused for another socket starts fresh. Releases whatever owners
  // are still held.
  void forget(int sock) { sockets_.erase(sock); }

  const Counters& counters() const { return *sink_; }
  const char* fallback_reason() const { return fallback_reason_.c_str(); }

  // Test hook: the next `n` zero-copy sends behave as if the kernel had
  // returned ENOBUFS (take the copying fallback).
  void inject_enobufs(int n) { inject_enobufs_ = n; }

 private:
  struct SocketState {
    bool probed = false;
    bool zerocopy = false;
    unsigned long ino = 0;
    ZeroCopyQueue queue;
  };
  SocketState& state(int sock);

  std::size_t threshold_;
  Counters own_;
  Counters* sink_;
  std::unordered_map<int, SocketState> sockets_;
  std::string fallback_reason_;
  int inject_enobufs_ = 0;
};

}  // namespace nocopy::io
