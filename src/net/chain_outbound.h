// ChainOutbound: a buf::Chain queued on a Connection, sent with a borrowed
// buf::ChainSender -- the adapter both `serve` (HTTP header + file region)
// and the broker (Kafka response header + log file regions) use.
//
// The ChainSender is borrowed: keep one per loop thread (constructed with
// cork=false; the Connection does the corking across its whole queue, which
// also coalesces pipelined responses) and make sure it outlives every
// connection of that thread.
//
// wants_cork(): true when the chain mixes memory and file segments (a header
// followed by a file body) and the file part is larger than
// kCorkMinFileBytes, so the body's chunks leave in full-sized segments (nginx's
// tcp_nopush). A smaller body goes out in one file send, and the ChainSender
// already holds the header back with MSG_MORE until it: corking it would only
// add two setsockopt calls (4 syscalls per small response instead of 2).
// memory_bytes(): bytes of memory segments (file regions cost no memory).
// zero_copy_sender(): the ChainSender's FileSender when its strategy leaves
// completions to reap (msg_zerocopy, uring_send_zc), so the Connection reaps
// them; the FileSender must then outlive the loop.
#pragma once

#include "buf/chain.h"
#include "buf/chain_sender.h"
#include "net/outbound.h"

namespace nocopy::net {

class ChainOutbound final : public Outbound {
 public:
  static constexpr std::uint64_t kCorkMinFileBytes = 64 * 1024;

  ChainOutbound(buf::Chain chain, buf::ChainSender& sender);
  io::Result<io::Progress> write_some(int fd) override { return sender_->send_some(fd, chain_); }
  bool done() const override { return chain_.empty(); }
  std::size_t memory_bytes() const override { return memory_; }
  std::uint64_t remaining() const override { return chain_.length(); }
  bool wants_cork() const override { return cork_; }
  io::FileSender* zero_copy_sender() const override {
    return io::has_completions(sender_->strategy()) ? &sender_->file_sender() : nullptr;
  }

 private:
  buf::Chain chain_;
  buf::ChainSender* sender_;
  std::size_t memory_ = 0;
  bool cork_ = false;
};

}  // namespace nocopy::net
