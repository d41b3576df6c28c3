// ChainOutbound: a buf::Chain queued on a Connection, sent with a borrowed
// buf::ChainSender -- the one adapter `serve` (HTTP header + file region) and
// the broker (Kafka response header + log file regions) use. Memory runs go
// out by sendmsg (MSG_NOSIGNAL, MSG_MORE before a file region), file regions
// by the ChainSender's io::FileSender strategy: the same code path for every
// strategy, which is what makes them comparable.
//
// Ownership: the ChainOutbound owns its chain (header Buffers and the
// FileRegions, which keep their files open) until it is fully sent or the
// connection drops it. The ChainSender is borrowed: keep one per loop thread
// (index by conn.loop().index()) and make sure it outlives every connection
// of that thread. The observer, when given, is borrowed too.
//
// write_some(fd) is ChainSender::send_some: resumable after a partial send
// or EAGAIN, never raises SIGPIPE, errors name the syscall.
//
// What it reports to the OutboundQueue, which decides cork and backpressure:
// memory_bytes() (bytes of memory segments; file regions cost no memory) and
// file_bytes() (bytes of file regions). zero_copy_sender(): the
// ChainSender's FileSender when its strategy leaves completions to reap
// (msg_zerocopy, uring_send_zc); that FileSender must outlive the loop.
//
// Thread-safety: the owning connection's loop thread only.
#pragma once

#include "buf/chain.h"
#include "buf/chain_sender.h"
#include "io/counters.h"
#include "net/outbound.h"

namespace nocopy::net {

// Receives the ChainSender's counter deltas of each write (syscalls, bytes
// copied from user space, bytes sent zero-copy): the broker's metrics.
class SendObserver {
 public:
  virtual ~SendObserver() = default;
  virtual void on_send(const io::Counters& delta) = 0;
};

class ChainOutbound final : public Outbound {
 public:
  ChainOutbound(buf::Chain chain, buf::ChainSender& sender, SendObserver* observer = nullptr);
  io::Result<io::Progress> write_some(int fd) override;
  // TLS: ChainSender::send_some(sink, chain) -- kernel TLS sends file
  // regions with SSL_sendfile, user-space TLS reads and encrypts them
  // (counted as copied bytes).
  io::Result<io::Progress> write_some_to(io::ByteSink& sink) override;
  bool done() const override { return chain_.empty(); }
  std::size_t memory_bytes() const override { return memory_; }
  std::uint64_t remaining() const override { return chain_.length(); }
  std::uint64_t file_bytes() const override { return file_; }
  io::FileSender* zero_copy_sender() const override {
    return io::has_completions(sender_->strategy()) ? &sender_->file_sender() : nullptr;
  }

 private:
  buf::Chain chain_;
  buf::ChainSender* sender_;
  SendObserver* observer_;
  std::size_t memory_ = 0;
  std::uint64_t file_ = 0;
};

}  // namespace nocopy::net
