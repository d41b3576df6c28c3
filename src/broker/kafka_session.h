// KafkaSession: the per-connection ConnectionHandler. Splits the input into
// size-prefixed request frames, reserves an output slot per request (so
// responses leave in request order however long each one takes), and hands
// the frame to the shared RequestHandler with the connection's
// ClientContext (listener, principal, peer host).
//
// On a SASL listener a SaslGate sits in front: before authentication only
// ApiVersions, SaslHandshake and SaslAuthenticate are served (any other
// request closes the connection), frames are limited to
// SecurityConfig::max_unauthenticated_request_bytes, and a connection not
// authenticated within auth_timeout_ms is closed. On an SSL listener the
// same timer bounds the TLS handshake (it stops at the first complete
// request).
//
// With SecurityConfig::connections_max_reauth_ms > 0 (KIP-368) a SASL
// session lasts that long from each successful authentication: a
// SaslHandshake on the authenticated connection starts a re-authentication
// in the gate (the client learns the lifetime from SaslAuthenticate v1+),
// and once the session has expired any other request closes the connection
// unanswered (checked when a request arrives, as Kafka does).
//
// Limits: a size prefix < 8 or > Config::max_request_bytes closes the
// connection at once (a 2 GiB prefix never allocates). A client that does not
// read its responses is paused by the Connection's output backpressure.
// Thread-safety: the connection's loop thread only.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "broker/client_context.h"
#include "broker/metrics.h"
#include "broker/request_handler.h"
#include "broker/sasl_gate.h"
#include "buf/chain_sender.h"
#include "net/connection.h"
#include "net/event_loop.h"

namespace nocopy::broker {

class KafkaSession final : public net::ConnectionHandler {
 public:
  // `sasl`: the authenticator on a SASL listener, else null.
  KafkaSession(RequestHandler& handler, const Config& cfg, Metrics& metrics, buf::ChainSender& sender,
               ClientContext client = {}, const security::SaslAuthenticator* sasl = nullptr);
  ~KafkaSession() override;

  // Arms the authentication timeout (SASL and SSL listeners). Call once the
  // connection is set up, on its loop thread.
  void start_auth_timer(net::Connection& conn);

  std::size_t on_data(net::Connection& conn, std::span<std::byte> data) override;
  void on_close(net::Connection& conn, net::CloseReason reason) override;

 private:
  bool gated() const { return gate_ && !gate_->authenticated(); }
  void authenticated();
  // A frame before authentication: true when the gate answered it (or closed).
  bool gate_frame(net::Connection& conn, std::span<std::byte> frame);
  // An authenticated SASL connection's request: begins a re-authentication
  // (SaslHandshake) or closes an expired session; false when it closed.
  bool check_session(net::Connection& conn, std::span<const std::byte> frame);
  void dispatch(net::Connection& conn, std::span<std::byte> frame);

  RequestHandler& handler_;
  const Config& cfg_;
  Metrics& metrics_;
  buf::ChainSender& sender_;  // the loop thread's
  ClientContext client_;
  std::unique_ptr<SaslGate> gate_;
  std::optional<std::chrono::steady_clock::time_point> session_expires_;  // SASL with a session lifetime
  net::EventLoop::TimerId auth_timer_ = 0;
  net::EventLoop* loop_ = nullptr;
  bool closing_ = false;
  bool tls_checked_ = false;  // the first request's TLS peer certificate was read
};

}  // namespace nocopy::broker
