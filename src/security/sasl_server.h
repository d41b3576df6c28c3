// SASL on the server side: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
//  * PLAIN runs in Cyrus SASL (libsasl2 and its PLAIN plugin from
//    libsasl2-modules): Cyrus calls back (SASL_CB_SERVER_USERDB_CHECKPASS)
//    and the password is checked against the user's salted SCRAM keys
//    (ScramStore::verify_password). An in-process auxprop plugin
//    ("nocopy") answers Cyrus's property lookups, so Cyrus's own password
//    stores (sasldb, saslauthd) are never consulted.
//  * SCRAM runs in security/scram_server.h on OpenSSL's primitives (why not
//    Cyrus's SCRAM plugin: see there).
//
// Process-wide: Cyrus keeps global state, so one SaslAuthenticator exists at
// a time (the broker's); constructing a second one replaces the store the
// callback reads. mechanisms() lists the configured mechanisms that can
// actually be offered (PLAIN needs Cyrus's plugin installed).
//
// Thread-safety: the authenticator may be shared by every thread; one
// SaslExchange belongs to one connection (one thread at a time).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "security/scram_server.h"
#include "security/scram_store.h"

struct sasl_conn;

namespace nocopy::security {

class SaslExchange {
 public:
  enum class Status { more, done, failed };
  struct Step {
    Status status = Status::failed;
    std::string out;    // bytes for the client (may be empty)
    std::string error;  // why, when failed
  };

  ~SaslExchange();
  SaslExchange(const SaslExchange&) = delete;
  SaslExchange& operator=(const SaslExchange&) = delete;

  // Feeds the client's next message (the first one starts the mechanism).
  Step step(std::string_view in);
  const std::string& mechanism() const { return mechanism_; }
  // The authenticated user name (after Status::done).
  const std::string& user() const { return user_; }

 private:
  friend class SaslAuthenticator;
  SaslExchange(sasl_conn* conn, std::unique_ptr<ScramServer> scram, std::string mechanism)
      : conn_(conn), scram_(std::move(scram)), mechanism_(std::move(mechanism)) {}
  Step cyrus_step(std::string_view in);
  sasl_conn* conn_;
  std::unique_ptr<ScramServer> scram_;
  std::string mechanism_;
  std::string user_;
  bool started_ = false;
  bool finished_ = false;
};

class SaslAuthenticator {
 public:
  // Throws std::runtime_error if Cyrus SASL cannot be initialised.
  SaslAuthenticator(ScramStore& store, std::vector<std::string> mechanisms);
  ~SaslAuthenticator();

  // Configured mechanisms Cyrus offers (a subset of the configured list).
  const std::vector<std::string>& mechanisms() const { return mechanisms_; }
  bool enabled(std::string_view mechanism) const;
  // A new exchange for `mechanism`, or null if it is not enabled.
  std::unique_ptr<SaslExchange> start(std::string_view mechanism) const;
  ScramStore& store() const { return store_; }

 private:
  ScramStore& store_;
  std::vector<std::string> mechanisms_;
};

}  // namespace nocopy::security
