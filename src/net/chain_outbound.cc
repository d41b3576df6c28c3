#include "net/chain_outbound.h"

namespace nocopy::net {

ChainOutbound::ChainOutbound(buf::Chain chain, buf::ChainSender& sender) : chain_(std::move(chain)), sender_(&sender) {
  std::uint64_t file_bytes = 0;
  for (const buf::Segment& s : chain_.segments()) {
    if (buf::is_file(s)) {
      file_bytes += std::get<buf::FileRegion>(s).length;
    } else {
      memory_ += std::get<buf::Buffer>(s).size();
    }
  }
  cork_ = file_bytes > kCorkMinFileBytes && chain_.segment_count() > 1;
}

}  // namespace nocopy::net
