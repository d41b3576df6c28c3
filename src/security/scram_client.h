// ScramClient: the client side of one SCRAM-SHA-256/512 exchange (RFC 5802,
// RFC 7677), for a broker authenticating to another broker. No channel
// binding (gs2 header "n,,"), no authorization id. The crypto is OpenSSL's
// (security/scram_store.h); the server's signature is checked in
// finish(), so a server that does not know the password is refused too.
//
// Thread-safety: one exchange, one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "security/scram_store.h"

namespace nocopy::security {

class ScramClient {
 public:
  ScramClient(ScramMechanism m, std::string user, std::string password);

  // client-first-message.
  std::string first();
  // client-final-message for the server-first-message, or empty (error() says why).
  std::string final_message(std::string_view server_first);
  // Checks the server-final-message (v=): true when the server proved it knows the keys.
  bool finish(std::string_view server_final);
  const std::string& error() const { return error_; }

 private:
  ScramMechanism mechanism_;
  std::string user_, password_;
  std::string nonce_, client_first_bare_, auth_message_, server_key_;
  std::string error_;
};

}  // namespace nocopy::security
