// SaslGate: a SASL listener's per-connection authentication state, in front
// of RequestHandler. Until the exchange completes, only ApiVersions (passed
// on), SaslHandshake and SaslAuthenticate (answered here) are served; any
// other request closes the connection.
//
//  * SaslHandshake names a mechanism: an enabled one starts a Cyrus SASL
//    exchange (security/sasl_server.h) and is answered NONE with the enabled
//    list; another is answered UNSUPPORTED_SASL_MECHANISM and the connection
//    closes. A second handshake is ILLEGAL_SASL_STATE and closes.
//  * v1 handshake: the tokens come in SaslAuthenticate requests. v0
//    handshake (old clients): the next frames are raw size-prefixed SASL
//    tokens, answered the same way (raw_tokens()).
//  * A failed exchange (wrong password, unknown user, bad token) is answered
//    SASL_AUTHENTICATION_FAILED and the connection closes after that answer.
//  * After success the principal is `User:<name>`.
//  * Re-authentication (KIP-368), only with a session lifetime > 0: the
//    successful SaslAuthenticate (v1+) carries session_lifetime_ms; the
//    connection's owner calls begin_reauthentication() when a SaslHandshake
//    arrives on the authenticated connection, and the gate runs a new
//    exchange. It must use a v1 handshake, the same mechanism (else
//    ILLEGAL_SASL_STATE / UNSUPPORTED_SASL_MECHANISM and close) and end with
//    the same principal (else SASL_AUTHENTICATION_FAILED and close), as Kafka.
//    When the session ends is the owner's business (KafkaSession).
//
// Thread-safety: the connection's loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "buf/chain.h"
#include "security/sasl_server.h"

namespace nocopy::broker {

class SaslGate {
 public:
  enum class Verdict {
    pass,              // not for the gate: hand the frame to RequestHandler
    answer,            // send `response`
    answer_and_close,  // send `response`, then close
    close,             // close at once
  };
  struct Result {
    Verdict verdict = Verdict::close;
    buf::Chain response;  // whole frame incl. size prefix
    std::string reason;   // for the log when closing
  };

  // session_lifetime_ms: 0 = sessions never end and re-authentication is
  // refused (a later SaslHandshake is not the gate's).
  explicit SaslGate(const security::SaslAuthenticator& auth, std::int64_t session_lifetime_ms = 0)
      : auth_(auth), session_lifetime_ms_(session_lifetime_ms) {}

  // One frame (without its size prefix) that arrived before authentication
  // completed.
  Result on_frame(std::span<const std::byte> frame);

  // On an authenticated connection with a session lifetime: start a new
  // exchange (the next frame is the SaslHandshake). False, and nothing
  // changes, otherwise.
  bool begin_reauthentication();

  bool authenticated() const { return authenticated_; }
  bool reauthenticating() const { return reauthenticating_; }
  std::int64_t session_lifetime_ms() const { return session_lifetime_ms_; }
  bool raw_tokens() const { return raw_; }
  const std::string& principal() const { return principal_; }
  const std::string& mechanism() const { return mechanism_; }

 private:
  Result on_raw_token(std::span<const std::byte> frame);

  const security::SaslAuthenticator& auth_;
  const std::int64_t session_lifetime_ms_;
  std::unique_ptr<security::SaslExchange> exchange_;
  bool handshaken_ = false;
  bool raw_ = false;
  bool authenticated_ = false;
  bool reauthenticating_ = false;
  std::string principal_;
  std::string mechanism_;
};

}  // namespace nocopy::broker
