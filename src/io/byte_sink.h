// ByteSink: somewhere bytes are written that is not a plain socket -- a TLS
// session (net/tls_session.h) that encrypts them in user space, or hands
// them to kernel TLS. buf::ChainSender::send_some(ByteSink&, Chain&) sends a
// chain through one.
//
// Contract of write(bytes): accepts a prefix of `bytes` (possibly all, at
// least one byte unless it would block) and returns Progress{accepted,
// would_block}. Accepted bytes are the sink's responsibility from then on
// (it may hold them until the transport can take them: flush_pending()).
// Errors name the operation ("SSL_write", ...); after one the sink is
// unusable.
//
// send_file(fd, offset, length): file bytes without a user-space copy, when
// can_send_file() (kernel TLS: SSL_sendfile); a sink that cannot returns
// IoError{ENOTSUP} and the caller reads the bytes itself.
// Thread-safety: one thread at a time.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <span>

#include "io/error.h"
#include "io/transfer.h"

namespace nocopy::io {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Result<Progress> write(std::span<const std::byte> bytes) = 0;
  virtual bool can_send_file() const { return false; }
  virtual Result<Progress> send_file(int /*fd*/, off_t /*offset*/, std::size_t /*length*/) {
    return std::unexpected(IoError{ENOTSUP, "send_file"});
  }
};

}  // namespace nocopy::io
