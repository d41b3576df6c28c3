// ScramServer: the server side of one SCRAM-SHA-256/512 exchange (RFC 5802,
// RFC 7677) against the salted keys in a ScramStore. Every cryptographic
// operation is OpenSSL's (HMAC, SHA-2, RAND_bytes, CRYPTO_memcmp, base64);
// this class only parses and builds the four SCRAM messages.
//
// Why not Cyrus SASL's SCRAM plugin: librdkafka (kcat, confluent-kafka)
// sends the client-final nonce as its own nonce followed by the whole
// server nonce (which already starts with its own), and Kafka accepts any
// client-final nonce that *ends with* the server nonce; Cyrus requires
// equality and so rejects every librdkafka client. This exchange accepts
// what Kafka accepts; the proof still covers the message as sent.
//
// Not supported (the exchange fails): channel binding (`p=` gs2 flag),
// the reserved `m=` attribute, Kafka's delegation-token extension
// (`tokenauth=true`), an authorization id different from the user.
// Thread-safety: one exchange per connection, one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "security/scram_store.h"

namespace nocopy::security {

class ScramServer {
 public:
  enum class Status { more, done, failed };
  struct Step {
    Status status = Status::failed;
    std::string out;
    std::string error;
  };

  ScramServer(const ScramStore& store, ScramMechanism mechanism) : store_(store), mechanism_(mechanism) {}

  Step step(std::string_view in);
  const std::string& user() const { return user_; }

 private:
  Step first(std::string_view in);
  Step final(std::string_view in);

  const ScramStore& store_;
  ScramMechanism mechanism_;
  int state_ = 0;  // 0: expect client-first, 1: client-final, 2: finished
  std::string user_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
  ScramCredential cred_;
};

}  // namespace nocopy::security
