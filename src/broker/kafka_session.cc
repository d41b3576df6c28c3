#include "broker/kafka_session.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "net/chain_outbound.h"

namespace nocopy::broker {

KafkaSession::KafkaSession(RequestHandler& handler, const Config& cfg, Metrics& metrics, buf::ChainSender& sender)
    : handler_(handler), cfg_(cfg), metrics_(metrics), sender_(sender) {
  metrics_.connection_opened();
}

KafkaSession::~KafkaSession() { metrics_.connection_closed(); }

std::size_t KafkaSession::on_data(net::Connection& conn, std::span<std::byte> data) {
  std::size_t consumed = 0;
  while (!closing_ && data.size() - consumed >= 4) {
    const auto* p = data.data() + consumed;
    std::int32_t size = static_cast<std::int32_t>((std::to_integer<std::uint32_t>(p[0]) << 24) |
                                                  (std::to_integer<std::uint32_t>(p[1]) << 16) |
                                                  (std::to_integer<std::uint32_t>(p[2]) << 8) |
                                                  std::to_integer<std::uint32_t>(p[3]));
    if (size < 8 || static_cast<std::uint32_t>(size) > cfg_.max_request_bytes) {
      spdlog::warn("{}: request size {} out of bounds (8..{}); closing", conn.peer_string(), size,
                   cfg_.max_request_bytes);
      closing_ = true;
      conn.close();
      return data.size();
    }
    if (data.size() - consumed < 4 + static_cast<std::size_t>(size)) {
      conn.expect_input(4 + static_cast<std::size_t>(size));  // one buffer of the right size
      break;
    }
    // The request is handled where it was read: Produce patches the batch's
    // baseOffset in place (the span is writable), and handle() keeps no
    // reference to the frame after it returns.
    std::span<std::byte> frame = data.subspan(consumed + 4, static_cast<std::size_t>(size));
    consumed += 4 + static_cast<std::size_t>(size);

    auto slot = conn.reserve();
    std::weak_ptr<net::Connection> weak = conn.shared_from_this();
    handler_.handle(frame, conn.loop(), [weak, slot, this](Reply rep) {
      auto c = weak.lock();
      if (!c || !c->is_open()) return;
      switch (rep.kind) {
        case Reply::Kind::respond:
          c->fulfill(slot, std::make_unique<net::ChainOutbound>(std::move(rep.chain), sender_, &metrics_));
          break;
        case Reply::Kind::none:
          c->fulfill(slot, std::make_unique<net::ChainOutbound>(buf::Chain{}, sender_, &metrics_));
          break;
        case Reply::Kind::close:
          spdlog::warn("{}: {}; closing", c->peer_string(), rep.reason);
          closing_ = true;
          c->close();
          break;
      }
    });
  }
  return closing_ ? data.size() : consumed;
}

void KafkaSession::on_close(net::Connection&, net::CloseReason) { closing_ = true; }

}  // namespace nocopy::broker
