// The broker's security flags (listeners, TLS, SASL, ACLs, connection limits):
// registered on the `broker` subcommand, applied to Config::security after
// the TOML file (flags override it). Empty / negative: not given.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/config.h"

namespace nocopy::app {

struct SecurityFlags {
  std::string listeners, advertised_listeners, ssl_cert, ssl_key, ssl_ca, ssl_client_auth, sasl_mechanisms, super_users;
  std::string authorizer, allow_everyone_if_no_acl_found;  // "true" | "false"
  std::vector<std::string> scram_users;
  std::int64_t auth_timeout_ms = -1, max_connections_per_ip = -1, max_unauthenticated_request_bytes = -1;
  std::int64_t connections_max_reauth_ms = -1;
  std::string inter_broker_listener_name, inter_broker_sasl_mechanism, inter_broker_sasl_username,
      inter_broker_sasl_password;

  void add_to(CLI::App& cmd);
  // Throws std::invalid_argument naming the flag.
  void apply(broker::Config& cfg) const;
};

}  // namespace nocopy::app
