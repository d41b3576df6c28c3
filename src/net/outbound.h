// Outbound: one queued response (or any unit of output) on a Connection.
//
// The Connection owns a FIFO of Outbound items and calls write_some() on the
// front one whenever the socket may be writable, until done(). An item is
// resumable: after a short or would-block write, the next write_some() call
// continues exactly where the previous one stopped.
//
// Implementations in the tree:
//   * BytesOutbound (here): owned memory, sent with send(MSG_NOSIGNAL).
//   * ChainOutbound (net/chain_outbound.h): a buf::Chain (header bytes +
//     file regions) sent with a buf::ChainSender -- every HTTP file response
//     and every Kafka response.
//
// Contract of write_some(fd):
//   * fd is a non-blocking connected stream socket; never raise SIGPIPE;
//   * return Progress{bytes, would_block}: either done() became true, or
//     would_block is set, or bytes > 0 (the Connection calls again at once);
//     returning 0 bytes without would_block and without done() is a bug and
//     the Connection treats it as an error;
//   * an error (EPIPE, ECONNRESET, ENODATA "file truncated", ...) closes the
//     connection.
// write_some_to(sink): the same contract through an io::ByteSink instead of
// the socket (a TLS connection: the session encrypts, or hands the bytes to
// kernel TLS). Items that cannot go through a sink fail with ENOTSUP.
// Thread-safety: used only on the owning Connection's loop thread.
#pragma once

#include <cstddef>
#include <string>

#include "io/byte_sink.h"
#include "io/error.h"
#include "io/transfer.h"

namespace nocopy::net {

class Outbound {
 public:
  virtual ~Outbound() = default;
  virtual io::Result<io::Progress> write_some(int fd) = 0;
  virtual io::Result<io::Progress> write_some_to(io::ByteSink& sink);
  virtual bool done() const = 0;
  // User-space memory this item keeps alive (counted against the
  // connection's backpressure limit). File regions count 0: they cost no memory.
  virtual std::size_t memory_bytes() const = 0;
  // Bytes still to send (for metrics; may be approximate for lazy sources).
  virtual std::uint64_t remaining() const = 0;
  // Bytes of file regions in this item, as queued (for the cork decision,
  // which OutboundQueue makes; net/outbound_queue.h).
  virtual std::uint64_t file_bytes() const { return 0; }
  // The sender whose zero-copy completions this item's writes leave behind on
  // the socket (io::has_completions(strategy): msg_zerocopy, uring_send_zc),
  // else nullptr. The Connection then reaps them (EPOLLERR, the ring's fd)
  // and keeps the socket open at close until they arrived (see
  // net/zero_copy_completions.h). The sender must outlive the Connection's
  // EventLoop.
  virtual io::FileSender* zero_copy_sender() const { return nullptr; }
};

// Owned bytes. send(2) with MSG_NOSIGNAL, looping over short writes and EINTR.
class BytesOutbound final : public Outbound {
 public:
  explicit BytesOutbound(std::string bytes) : bytes_(std::move(bytes)) {}
  io::Result<io::Progress> write_some(int fd) override;
  io::Result<io::Progress> write_some_to(io::ByteSink& sink) override;
  bool done() const override { return sent_ == bytes_.size(); }
  std::size_t memory_bytes() const override { return bytes_.capacity(); }
  std::uint64_t remaining() const override { return bytes_.size() - sent_; }

 private:
  std::string bytes_;
  std::size_t sent_ = 0;
};

}  // namespace nocopy::net
