// KafkaSession: the per-connection ConnectionHandler. Splits the input into
// size-prefixed request frames, reserves an output slot per request (so
// responses leave in request order however long each one takes), and hands
// the frame to the shared RequestHandler.
//
// Limits: a size prefix < 8 or > Config::max_request_bytes closes the
// connection at once (a 2 GiB prefix never allocates). A client that does not
// read its responses is paused by the Connection's output backpressure.
// Thread-safety: the connection's loop thread only.
#pragma once

#include <memory>

#include "broker/metrics.h"
#include "broker/request_handler.h"
#include "buf/chain_sender.h"
#include "net/connection.h"

namespace nocopy::broker {

class KafkaSession final : public net::ConnectionHandler {
 public:
  KafkaSession(RequestHandler& handler, const Config& cfg, Metrics& metrics, buf::ChainSender& sender);
  ~KafkaSession() override;

  std::size_t on_data(net::Connection& conn, std::span<std::byte> data) override;
  void on_close(net::Connection& conn, net::CloseReason reason) override;

 private:
  RequestHandler& handler_;
  const Config& cfg_;
  Metrics& metrics_;
  buf::ChainSender& sender_;  // the loop thread's
  bool closing_ = false;
};

}  // namespace nocopy::broker
