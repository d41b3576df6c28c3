// ZeroCopyCompletions: what a Connection must do for a socket that a
// zero-copy io::FileSender (msg_zerocopy, uring_send_zc) has sent on.
//
// Such a sender returns from send_some() while the kernel may still read the
// memory it sent (mmap'd windows of the file); it holds a reference to that
// memory until the kernel's completion is read, and only then releases it.
// Nobody reads those completions unless the event loop does:
//
//  * MSG_ZEROCOPY: completions are queued on the socket's error queue, which
//    makes the socket poll EPOLLERR (with SO_ERROR 0) until they are read.
//    reap() reads them all (recvmsg(MSG_ERRQUEUE) until EAGAIN). A Connection
//    that took EPOLLERR for a failure closed every connection after its first
//    zero-copy response (the broker "stall": librdkafka saw its fetch
//    connection drop, reconnected, and lost it again).
//    The queue belongs to the descriptor, so at close the socket is kept open
//    (registered edge-triggered for EPOLLERR only, after shutdown(SHUT_WR)) until
//    every outstanding send completed or `max_wait` passed; then the sender
//    forgets the descriptor's state (so a reused fd number starts fresh) and
//    the socket is closed. On timeout the references are dropped at close:
//    the kernel keeps its own page references of what it still sends, so
//    this cannot expose freed memory to it; the wait exists so that nothing
//    is released before its completion in the normal case.
//  * io_uring SEND_ZC: notifications arrive as CQEs on the sender's ring, not
//    on the socket. attach() registers the ring's fd with the loop once
//    (EPOLLIN while CQEs wait -> reap()); closing the socket needs no wait.
//
// Only io::FileSender's completion interface is used (completions_on_socket,
// completion_fd, outstanding, forget), so any sender may be attached; one
// without completions makes every call here a plain no-op / close().
//
// One object per Connection, used on its loop thread only. The sender must
// outlive the loop (one sender per loop thread, destroyed after the pool).
#pragma once

#include <chrono>
#include <cstddef>

#include "io/error.h"
#include "io/transfer.h"
#include "net/event_loop.h"

namespace nocopy::net {

class ZeroCopyCompletions {
 public:
  // Adopts `sender` for this connection's socket (cheap when already adopted).
  // A uring_send_zc sender's ring fd is watched by `loop` from now on.
  void attach(EventLoop& loop, io::FileSender& sender);
  bool active() const noexcept { return sender_ != nullptr; }

  // Reads the completions waiting for `fd` without blocking; returns the
  // number of sends still outstanding on it.
  io::Result<std::size_t> reap(int fd);

  // Takes over `fd` (already removed from `loop`) and closes it: at once
  // when nothing is outstanding, else once the completions arrived or
  // `max_wait` passed (see above).
  void close_socket(EventLoop& loop, int fd, std::chrono::milliseconds max_wait);

 private:
  io::FileSender* sender_ = nullptr;
};

}  // namespace nocopy::net
