#include "app/broker_security_flags.h"

#include "security/listener_spec.h"
#include "security/security_config.h"

namespace nocopy::app {

void SecurityFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--listeners", listeners,
                 "listeners, e.g. PLAINTEXT://127.0.0.1:9092,SSL://:9093,SASL_PLAINTEXT://:9094,SASL_SSL://:9095 "
                 "(instead of --listen)");
  cmd.add_option("--advertised-listeners", advertised_listeners,
                 "addresses told to clients per listener, same form [each listener's own]");
  cmd.add_option("--ssl-cert", ssl_cert, "PEM certificate (chain) of SSL/SASL_SSL listeners (reloaded on SIGHUP)");
  cmd.add_option("--ssl-key", ssl_key, "PEM private key of SSL/SASL_SSL listeners");
  cmd.add_option("--ssl-ca", ssl_ca, "PEM CA certificates client certificates are verified against");
  cmd.add_option("--ssl-client-auth", ssl_client_auth, "none | requested | required [none]");
  cmd.add_option("--sasl-mechanisms", sasl_mechanisms, "enabled SASL mechanisms [PLAIN,SCRAM-SHA-256,SCRAM-SHA-512]");
  cmd.add_option("--scram-user", scram_users,
                 "NAME:PASSWORD: create SCRAM-SHA-256/512 credentials (stored salted in the data dir, in etcd with "
                 "--cluster) for the user "
                 "at start if it has none (repeatable; the TOML key scram_users keeps passwords off the command line)");
  cmd.add_option("--authorizer", authorizer,
                 "true: every request needs an ACL allowing it (CreateAcls/DescribeAcls/DeleteAcls; stored in "
                 "<data-dir>/acls, in etcd with --cluster) [false]")
      ->check(CLI::IsMember({"true", "false"}));
  cmd.add_option("--super-users", super_users, "principals allowed everything, e.g. User:admin;User:ops");
  cmd.add_option("--allow-everyone-if-no-acl-found", allow_everyone_if_no_acl_found,
                 "true: a resource no ACL names is open to everyone [false]")
      ->check(CLI::IsMember({"true", "false"}));
  cmd.add_option("--auth-timeout-ms", auth_timeout_ms,
                 "close connections not authenticated (TLS handshake, SASL) within this, 0 = never [10000]");
  cmd.add_option("--max-unauthenticated-request-bytes", max_unauthenticated_request_bytes,
                 "largest request accepted before SASL authentication [524288]");
  cmd.add_option("--max-connections-per-ip", max_connections_per_ip, "connections per client address, 0 = unlimited [0]");
  cmd.add_option("--connections-max-reauth-ms", connections_max_reauth_ms,
                 "SASL session lifetime (KIP-368): clients re-authenticate before it ends, an expired connection is "
                 "closed by any request but SaslHandshake; 0 = off, else >= 1000 [0]")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{0xffffffff}));
  cmd.add_option("--inter-broker-listener-name", inter_broker_listener_name,
                 "cluster mode: the listener (PLAINTEXT or SASL_PLAINTEXT) followers and other broker-to-broker "
                 "calls connect to on the other brokers [each broker's first listener, unauthenticated]");
  cmd.add_option("--inter-broker-sasl-mechanism", inter_broker_sasl_mechanism,
                 "PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512, on a SASL inter-broker listener [PLAIN]");
  cmd.add_option("--inter-broker-sasl-username", inter_broker_sasl_username,
                 "the brokers' user on a SASL inter-broker listener (needs CLUSTER_ACTION or super_users)");
  cmd.add_option("--inter-broker-sasl-password", inter_broker_sasl_password,
                 "its password (the TOML key inter_broker_sasl_password keeps it off the command line)");
}

void SecurityFlags::apply(broker::Config& cfg) const {
  auto& sec = cfg.security;
  if (!listeners.empty()) sec.listeners = security::parse_listeners(listeners);
  if (!advertised_listeners.empty()) sec.advertised_listeners = security::parse_listeners(advertised_listeners);
  if (!ssl_cert.empty()) sec.ssl_cert_file = ssl_cert;
  if (!ssl_key.empty()) sec.ssl_key_file = ssl_key;
  if (!ssl_ca.empty()) sec.ssl_ca_file = ssl_ca;
  if (!ssl_client_auth.empty()) sec.ssl_client_auth = security::parse_client_auth(ssl_client_auth);
  if (!sasl_mechanisms.empty()) sec.sasl_mechanisms = security::split_list(sasl_mechanisms, ',');
  for (const auto& u : scram_users) sec.scram_users.push_back(u);
  if (!authorizer.empty()) sec.authorizer = authorizer == "true";
  if (!super_users.empty()) sec.super_users = security::split_list(super_users, ';');
  if (!allow_everyone_if_no_acl_found.empty())
    sec.allow_everyone_if_no_acl_found = allow_everyone_if_no_acl_found == "true";
  if (auth_timeout_ms >= 0) sec.auth_timeout_ms = static_cast<std::uint32_t>(auth_timeout_ms);
  if (max_unauthenticated_request_bytes >= 8)
    sec.max_unauthenticated_request_bytes = static_cast<std::uint32_t>(max_unauthenticated_request_bytes);
  if (connections_max_reauth_ms >= 0)
    sec.connections_max_reauth_ms = static_cast<std::uint32_t>(connections_max_reauth_ms);
  if (max_connections_per_ip >= 0) sec.max_connections_per_ip = static_cast<std::uint32_t>(max_connections_per_ip);
  if (!inter_broker_listener_name.empty()) sec.inter_broker_listener_name = inter_broker_listener_name;
  if (!inter_broker_sasl_mechanism.empty()) sec.inter_broker_sasl_mechanism = inter_broker_sasl_mechanism;
  if (!inter_broker_sasl_username.empty()) sec.inter_broker_sasl_username = inter_broker_sasl_username;
  if (!inter_broker_sasl_password.empty()) sec.inter_broker_sasl_password = inter_broker_sasl_password;
  sec.validate();
}

}  // namespace nocopy::app
