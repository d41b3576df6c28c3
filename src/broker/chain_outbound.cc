#include "broker/chain_outbound.h"

namespace nocopy::broker {

ChainOutbound::ChainOutbound(buf::Chain chain, io::FileSender& sender, Metrics& metrics)
    : chain_(std::move(chain)),
      sender_(sender, /*cork=*/false),
      metrics_(metrics),
      zc_sender_(io::has_completions(sender.strategy()) ? &sender : nullptr) {
  for (auto& s : chain_.segments()) {
    if (buf::is_file(s))
      has_file_ = true;
    else
      memory_ += static_cast<std::size_t>(buf::length_of(s));
  }
}

io::Result<io::Progress> ChainOutbound::write_some(int fd) {
  auto before = sender_.counters();
  auto r = sender_.send_some(fd, chain_);
  metrics_.on_send(sender_.counters() - before);
  return r;
}

}  // namespace nocopy::broker
