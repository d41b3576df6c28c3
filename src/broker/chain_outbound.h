// ChainOutbound: adapts one response (a buf::Chain) to net::Outbound, sending
// it with a buf::ChainSender -- memory runs by sendmsg, file regions by the
// configured io::FileSender strategy. Every strategy goes through this one
// path, which is what makes them comparable.
//
// The FileSender is borrowed (one per reactor thread, see Broker); TCP_CORK
// is left to the Connection (wants_cork() when the chain has file regions).
// Counter deltas of each write_some() are added to Metrics.
// Thread-safety: the owning connection's loop thread only.
#pragma once

#include "broker/metrics.h"
#include "buf/chain.h"
#include "buf/chain_sender.h"
#include "net/outbound.h"

namespace nocopy::broker {

class ChainOutbound final : public net::Outbound {
 public:
  ChainOutbound(buf::Chain chain, io::FileSender& sender, Metrics& metrics);

  io::Result<io::Progress> write_some(int fd) override;
  bool done() const override { return chain_.empty(); }
  std::size_t memory_bytes() const override { return memory_; }
  std::uint64_t remaining() const override { return chain_.length(); }
  bool wants_cork() const override { return has_file_; }
  // msg_zerocopy / uring_send_zc: the Connection reaps the completions the
  // borrowed sender leaves on the socket (net/zero_copy_completions.h).
  io::FileSender* zero_copy_sender() const override { return zc_sender_; }

 private:
  buf::Chain chain_;
  buf::ChainSender sender_;
  Metrics& metrics_;
  std::size_t memory_ = 0;
  bool has_file_ = false;
  io::FileSender* zc_sender_ = nullptr;
};

}  // namespace nocopy::broker
