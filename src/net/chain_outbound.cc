#include "net/chain_outbound.h"

namespace nocopy::net {

ChainOutbound::ChainOutbound(buf::Chain chain, buf::ChainSender& sender, SendObserver* observer)
    : chain_(std::move(chain)), sender_(&sender), observer_(observer) {
  for (const buf::Segment& s : chain_.segments()) {
    if (buf::is_file(s)) {
      file_ += std::get<buf::FileRegion>(s).length;
    } else {
      memory_ += std::get<buf::Buffer>(s).size();
    }
  }
}

io::Result<io::Progress> ChainOutbound::write_some(int fd) {
  if (observer_ == nullptr) return sender_->send_some(fd, chain_);
  const io::Counters before = sender_->counters();
  auto r = sender_->send_some(fd, chain_);
  observer_->on_send(sender_->counters() - before);
  return r;
}

io::Result<io::Progress> ChainOutbound::write_some_to(io::ByteSink& sink) {
  if (observer_ == nullptr) return sender_->send_some(sink, chain_);
  const io::Counters before = sender_->counters();
  auto r = sender_->send_some(sink, chain_);
  observer_->on_send(sender_->counters() - before);
  return r;
}

}  // namespace nocopy::net
