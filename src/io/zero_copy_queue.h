// Bookkeeping for MSG_ZEROCOPY on one socket: which buffer each send id pins,
// and reaping the kernel's completions from the socket's error queue.
//
// Every successful send(MSG_ZEROCOPY) on a socket gets the next 32-bit id
// (the kernel's per-socket counter, starting at 0; failed calls do not
// consume one). The kernel reports ranges [lo, hi] of completed ids as
// SO_EE_ORIGIN_ZEROCOPY messages on MSG_ERRQUEUE; SO_EE_CODE_ZEROCOPY_COPIED
// means it copied after all (loopback always does). Until its id completes,
// the owner of the memory a send used is held here; it is released (the
// shared_ptr dropped) only after the completion was read.
//
// One queue per socket, and only one queue per socket: two senders issuing
// MSG_ZEROCOPY on the same socket would disagree about ids.
// Thread-safety: none; used by the one thread that sends on the socket.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "io/counters.h"
#include "io/error.h"

namespace nocopy::io {

class ZeroCopyQueue {
 public:
  // Records that the next zero-copy send id pins `owner`.
  void sent(std::shared_ptr<const void> owner) { pending_.emplace(next_id_++, std::move(owner)); }
  // Reads everything queued on `sock`'s error queue without blocking (until
  // EAGAIN, so that EPOLLERR clears); returns the number of sends still
  // outstanding.
  Result<std::size_t> reap(int sock, Counters& c);
  // Waits (poll for POLLERR) until nothing is outstanding or `timeout_ms`
  // passed (ETIMEDOUT).
  Result<void> drain(int sock, int timeout_ms, Counters& c);
  std::size_t outstanding() const noexcept { return pending_.size(); }

 private:
  void complete(std::uint32_t lo, std::uint32_t hi, bool copied, Counters& c);
  std::map<std::uint32_t, std::shared_ptr<const void>> pending_;
  std::uint32_t next_id_ = 0;
};

}  // namespace nocopy::io
