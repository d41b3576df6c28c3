// Sends a Chain to a socket: gathered sendmsg (writev semantics, plus
// MSG_NOSIGNAL) for runs of memory segments, the configured io::FileSender
// strategy for file regions -- nginx's sendfile chain, with seastar's
// "write_some" naming: one call moves what the socket accepts now.
//
// Contract of send_some(sock, chain):
//  * sends from the front of `chain` until the chain is empty, the socket
//    would block, or an error; every byte sent is removed from the front of
//    `chain`, so the chain left over is exactly what is still unsent -- call
//    again with the same chain when the socket is writable. No byte is lost
//    or sent twice.
//  * returns Progress{bytes sent by this call, would_block}: would_block is
//    true iff the call stopped on EAGAIN with bytes still in the chain; on a
//    blocking socket the call returns only when the chain is empty or on error.
//  * errors name the syscall (IoError{EPIPE, "sendmsg"}, {ECONNRESET,
//    "sendfile"}, {ENODATA, ...} for a file truncated under a region). Bytes
//    sent before the error are already gone from the chain; after an error
//    the connection is unusable and should be closed. Never raises SIGPIPE.
//  * memory runs: at most IOV_MAX segments and 1 GiB per sendmsg; a partial
//    send advances through the iovecs (a segment can be left half sent).
//  * file regions: io::FileSender::send_some with the region's fd/offset; the
//    region keeps the File open while it is in the chain.
//
// TCP_CORK is not this sender's business: the cork state belongs to the
// connection, and net::OutboundQueue decides it across a connection's whole
// output queue. A ChainSender holds no per-socket state, so one per thread
// serves all of that thread's connections.
//
// MSG_MORE: a memory run followed by a file region is sent with MSG_MORE, so
// the kernel holds a small header back and sends it together with the first
// body bytes (which the file send pushes), corked or not.
//
// Counters: memory_counters() counts this sender's own syscalls (sendmsg,
// including EAGAIN ones) and, in
// bytes_copied_user, the bytes sent from user memory: the kernel copies them
// from our buffers into socket buffers, the same copy io's mmap_write and
// read_write count for their write(). file_counters() are the FileSender's
// (bytes_zero_copy or bytes_copied_user per the strategy). counters() is
// the sum.
//
// Zero-copy strategies (msg_zerocopy, uring_send_zc) keep their own
// references until completion: forward reap()/drain() as io::FileSender says.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstddef>
#include <memory>

#include "buf/chain.h"
#include "io/byte_sink.h"
#include "io/counters.h"
#include "io/error.h"
#include "io/strategy.h"
#include "io/transfer.h"

namespace nocopy::buf {

struct ChainSenderOptions {
  io::Strategy strategy = io::Strategy::sendfile;  // for file regions
  io::SenderOptions sender{};
};

class ChainSender {
 public:
  // Owns a FileSender made by io::make_sender(options.strategy, options.sender)
  // (throws what make_sender throws for file-to-file-only strategies).
  explicit ChainSender(const ChainSenderOptions& options = {});
  // Borrows `file_sender`, which must outlive this ChainSender.
  explicit ChainSender(io::FileSender& file_sender);

  ChainSender(ChainSender&&) noexcept = default;
  ChainSender& operator=(ChainSender&&) noexcept = default;
  ChainSender(const ChainSender&) = delete;
  ChainSender& operator=(const ChainSender&) = delete;
  ~ChainSender() = default;

  io::Result<io::Progress> send_some(int sock, Chain& chain);
  // The same through a ByteSink (a TLS session; chain_sender_sink.cc):
  // memory segments are written as they are (bytes_copied_user); file
  // regions go to sink.send_file() when the sink can (kernel TLS:
  // bytes_zero_copy), else they are pread into a per-thread 64 KiB buffer
  // and written (bytes_copied_user: the user-space copy TLS without kernel
  // support costs). Bytes the sink did not accept stay in the chain (a
  // region's are read again next time). Same contract otherwise; no MSG_MORE.
  io::Result<io::Progress> send_some(io::ByteSink& sink, Chain& chain);

  io::Result<std::size_t> reap(int sock) { return file_->reap(sock); }
  io::Result<void> drain(int sock, int timeout_ms = 5000) { return file_->drain(sock, timeout_ms); }

  io::FileSender& file_sender() noexcept { return *file_; }
  io::Strategy strategy() const { return file_->strategy(); }

  const io::Counters& memory_counters() const noexcept { return memory_; }
  const io::Counters& file_counters() const noexcept { return file_->counters(); }
  io::Counters counters() const {
    io::Counters c = memory_;
    c += file_->counters();
    return c;
  }
  void reset_counters() {
    memory_ = {};
    file_->reset_counters();
  }

 private:
  // One sendmsg of the memory segments at the front of `chain`.
  io::Result<io::Progress> send_memory_once(int sock, Chain& chain);
  // One write of the region at the front of `chain` through `sink`.
  io::Result<io::Progress> send_region_to(io::ByteSink& sink, const FileRegion& region);

  std::unique_ptr<io::FileSender> owned_;
  io::FileSender* file_ = nullptr;
  io::Counters memory_;
};

}  // namespace nocopy::buf
