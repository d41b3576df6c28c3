// SecurityConfig: the broker's listener, TLS, SASL, ACL and connection-limit
// settings. TOML keys are the field names; `listeners` and
// `advertised_listeners` are strings in Kafka's `PROTOCOL://host:port,...`
// form; `super_users` is Kafka's `User:alice;User:bob`; `scram_users` is a
// list of "name:password" strings whose SCRAM credentials are created at
// start when the user has none yet.
//
// validate() checks what can be checked without touching files (TLS files
// are required by SSL/SASL_SSL listeners, mechanism names are known) and
// throws std::invalid_argument naming the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "security/listener_spec.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace nocopy::security {

enum class ClientAuth : std::uint8_t { none, requested, required };
const char* to_string(ClientAuth a);
ClientAuth parse_client_auth(const std::string& s);  // none | requested | required

struct SecurityConfig {
  std::vector<ListenerSpec> listeners;             // empty: one PLAINTEXT listener (Config::listen)
  std::vector<ListenerSpec> advertised_listeners;  // per protocol; missing: the listener's own address

  // TLS (SSL and SASL_SSL listeners): PEM files, reloaded on SIGHUP.
  std::string ssl_cert_file;
  std::string ssl_key_file;
  std::string ssl_ca_file;  // client certificates are verified against it (mTLS)
  ClientAuth ssl_client_auth = ClientAuth::none;

  // SASL (SASL_PLAINTEXT and SASL_SSL listeners).
  std::vector<std::string> sasl_mechanisms{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
  std::vector<std::string> scram_users;  // "name:password", created at start if absent
  std::uint32_t scram_iterations = 4096;

  // ACLs: with the authorizer on, a request needs an ALLOW ACL (deny wins).
  bool authorizer = false;
  std::vector<std::string> super_users;  // principals, e.g. "User:admin"
  bool allow_everyone_if_no_acl_found = false;  // a resource no ACL names: open (true) or denied

  // Hardening.
  std::uint32_t auth_timeout_ms = 10'000;                 // handshake + authentication must finish in this
  std::uint32_t max_unauthenticated_request_bytes = 524'288;  // Kafka's sasl.server.max.receive.size
  std::uint32_t max_connections_per_ip = 0;               // 0: unlimited

  // KIP-368 (Kafka's connections.max.reauth.ms): > 0, a SASL session lasts
  // this long; SaslAuthenticate v1+ tells the client (session_lifetime_ms),
  // which re-authenticates on the same connection before it ends, and an
  // expired connection is closed by any request but SaslHandshake. 0: off.
  std::uint32_t connections_max_reauth_ms = 0;

  // Cluster mode, broker to broker (Kafka's inter.broker.listener.name):
  // followers and other inter-broker calls connect to the other broker's
  // listener of this name (PLAINTEXT or SASL_PLAINTEXT, one of `listeners`),
  // on SASL_PLAINTEXT as the user below. Empty: each broker's first listener,
  // unauthenticated. With the authorizer on, the principal needs
  // CLUSTER_ACTION on the cluster (or to be a super user).
  std::string inter_broker_listener_name;
  std::string inter_broker_sasl_mechanism = "PLAIN";
  std::string inter_broker_sasl_username;
  std::string inter_broker_sasl_password;

  void load_toml(const toml::table& t);
  void validate() const;
  void validate_inter_broker() const;
  bool any_tls() const;
  bool any_sasl() const;
};

std::vector<std::string> split_list(const std::string& text, char sep);

}  // namespace nocopy::security
