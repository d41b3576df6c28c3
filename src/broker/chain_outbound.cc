#include "broker/chain_outbound.h"

namespace nocopy::broker {

ChainOutbound::ChainOutbound(buf::Chain chain, io::FileSender& sender, Metrics& metrics)
    : chain_(std::move(chain)), sender_(sender, /*cork=*/false), metrics_(metrics) {
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
  auto after = sender_.counters();
  io::Counters delta;
  delta.syscalls = after.syscalls - before.syscalls;
  delta.bytes_copied_user = after.bytes_copied_user - before.bytes_copied_user;
  delta.bytes_zero_copy = after.bytes_zero_copy - before.bytes_zero_copy;
  metrics_.on_send(delta);
  return r;
}

}  // namespace nocopy::broker
