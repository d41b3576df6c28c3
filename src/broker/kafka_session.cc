#include "broker/kafka_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kafka/api_key.h"
#include "net/chain_outbound.h"

namespace nocopy::broker {

KafkaSession::KafkaSession(RequestHandler& handler, const Config& cfg, Metrics& metrics, buf::ChainSender& sender,
                           ClientContext client, const security::SaslAuthenticator* sasl)
    : handler_(handler), cfg_(cfg), metrics_(metrics), sender_(sender), client_(std::move(client)) {
  if (sasl) gate_ = std::make_unique<SaslGate>(*sasl, cfg.security.connections_max_reauth_ms);
  metrics_.connection_opened();
}

KafkaSession::~KafkaSession() {
  if (auth_timer_ && loop_) loop_->cancel(auth_timer_);
  metrics_.connection_closed();
}

void KafkaSession::start_auth_timer(net::Connection& conn) {
  if (!gate_ && !security::uses_tls(client_.protocol)) return;
  if (cfg_.security.auth_timeout_ms == 0) return;
  loop_ = &conn.loop();
  std::weak_ptr<net::Connection> weak = conn.shared_from_this();
  auth_timer_ = conn.loop().run_after(std::chrono::milliseconds(cfg_.security.auth_timeout_ms), [this, weak] {
    auth_timer_ = 0;
    auto c = weak.lock();
    if (!c || !c->is_open()) return;
    spdlog::warn("{}: not authenticated within {} ms ({}); closing", c->peer_string(), cfg_.security.auth_timeout_ms,
                 security::to_string(client_.protocol));
    closing_ = true;
    c->close();
  });
}

void KafkaSession::authenticated() {
  if (auth_timer_ && loop_) loop_->cancel(auth_timer_);
  auth_timer_ = 0;
}

std::size_t KafkaSession::on_data(net::Connection& conn, std::span<std::byte> data) {
  std::size_t consumed = 0;
  while (!closing_ && data.size() - consumed >= 4) {
    const auto* p = data.data() + consumed;
    std::int32_t size = static_cast<std::int32_t>((std::to_integer<std::uint32_t>(p[0]) << 24) |
                                                  (std::to_integer<std::uint32_t>(p[1]) << 16) |
                                                  (std::to_integer<std::uint32_t>(p[2]) << 8) |
                                                  std::to_integer<std::uint32_t>(p[3]));
    const bool gated_now = gated();
    const std::uint32_t limit =
        gated_now ? std::min(cfg_.max_request_bytes, cfg_.security.max_unauthenticated_request_bytes)
                  : cfg_.max_request_bytes;
    // After a v0 SaslHandshake the frames are bare SASL tokens (any size).
    const std::int32_t min_size = gated_now && gate_->raw_tokens() ? 0 : 8;
    if (size < min_size || static_cast<std::uint32_t>(size) > limit) {
      spdlog::warn("{}: request size {} out of bounds ({}..{}{}); closing", conn.peer_string(), size, min_size, limit,
                   gated_now ? ", before authentication" : "");
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
    if (!gate_ && !tls_checked_) {
      // SSL: the handshake is done once a request arrived; a client
      // certificate names the principal (User:<subject DN, RFC 2253>).
      tls_checked_ = true;
      authenticated();
      if (auto* tls = conn.tls()) {
        if (auto subject = tls->peer_subject(); !subject.empty()) client_.principal = "User:" + subject;
      }
    }
    if (gate_ && !gated_now && !check_session(conn, frame)) return data.size();
    if (gated() && gate_frame(conn, frame)) continue;
    dispatch(conn, frame);
  }
  return closing_ ? data.size() : consumed;
}

bool KafkaSession::check_session(net::Connection& conn, std::span<const std::byte> frame) {
  const auto api = static_cast<std::int16_t>((std::to_integer<int>(frame[0]) << 8) | std::to_integer<int>(frame[1]));
  if (api == static_cast<std::int16_t>(kafka::ApiKey::sasl_handshake) && gate_->begin_reauthentication()) return true;
  if (!session_expires_ || std::chrono::steady_clock::now() < *session_expires_) return true;
  spdlog::info("{}: SASL session of {} expired (connections_max_reauth_ms {}); {} request closes the connection",
               conn.peer_string(), client_.principal, cfg_.security.connections_max_reauth_ms, kafka::api_label(api));
  metrics_.on_sasl_session_expired();
  closing_ = true;
  conn.close();
  return false;
}

bool KafkaSession::gate_frame(net::Connection& conn, std::span<std::byte> frame) {
  const bool reauthentication = gate_->reauthenticating();
  auto r = gate_->on_frame(frame);
  if (r.verdict == SaslGate::Verdict::pass) return false;
  if (r.verdict != SaslGate::Verdict::close) {
    // Ordered behind responses still pending (an ApiVersions answer).
    const auto slot = conn.reserve();
    conn.fulfill(slot, std::make_unique<net::ChainOutbound>(std::move(r.response), sender_, &metrics_));
  }
  if (gate_->authenticated()) {
    client_.principal = gate_->principal();
    authenticated();
    metrics_.on_sasl_authenticated(reauthentication);
    if (gate_->session_lifetime_ms() > 0)
      session_expires_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(gate_->session_lifetime_ms());
    spdlog::debug("{}: authenticated as {} ({})", conn.peer_string(), client_.principal, gate_->mechanism());
  }
  if (r.verdict == SaslGate::Verdict::answer) return true;
  spdlog::warn("{}: {}; closing", conn.peer_string(), r.reason);
  closing_ = true;
  if (r.verdict == SaslGate::Verdict::close)
    conn.close();
  else
    conn.close_after_flush();
  return true;
}

void KafkaSession::dispatch(net::Connection& conn, std::span<std::byte> frame) {
  auto slot = conn.reserve();
  std::weak_ptr<net::Connection> weak = conn.shared_from_this();
  handler_.handle(
      frame, conn.loop(),
      [weak, slot, this](Reply rep) {
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
      },
      client_);
}

void KafkaSession::on_close(net::Connection&, net::CloseReason) { closing_ = true; }

}  // namespace nocopy::broker
