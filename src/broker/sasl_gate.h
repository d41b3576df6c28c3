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

  explicit SaslGate(const security::SaslAuthenticator& auth) : auth_(auth) {}

  // One frame (without its size prefix) that arrived before authentication
  // completed.
  Result on_frame(std::span<const std::byte> frame);

  bool authenticated() const { return authenticated_; }
  bool raw_tokens() const { return raw_; }
  const std::string& principal() const { return principal_; }
  const std::string& mechanism() const { return mechanism_; }

 private:
  Result on_raw_token(std::span<const std::byte> frame);

  const security::SaslAuthenticator& auth_;
  std::unique_ptr<security::SaslExchange> exchange_;
  bool handshaken_ = false;
  bool raw_ = false;
  bool authenticated_ = false;
  std::string principal_;
  std::string mechanism_;
};

}  // namespace nocopy::broker
