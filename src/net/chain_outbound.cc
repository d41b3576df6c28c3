#include "net/chain_outbound.h"

namespace nocopy::net {

ChainOutbound::ChainOutbound(buf::Chain chain, buf::ChainSender& sender) : chain_(std::move(chain)), sender_(&sender) {
  bool has_file = false;
  for (const buf::Segment& s : chain_.segments()) {
    if (buf::is_file(s)) {
      has_file = true;
    } else {
      memory_ += std::get<buf::Buffer>(s).size();
    }
  }
  cork_ = has_file && chain_.segment_count() > 1;
}

}  // namespace nocopy::net
