#include "security/security_config.h"

#include <stdexcept>
#include <toml++/toml.h>

namespace nocopy::security {

const char* to_string(ClientAuth a) {
  switch (a) {
    case ClientAuth::none: return "none";
    case ClientAuth::requested: return "requested";
    case ClientAuth::required: return "required";
  }
  return "?";
}

ClientAuth parse_client_auth(const std::string& s) {
  if (s == "none") return ClientAuth::none;
  if (s == "requested") return ClientAuth::requested;
  if (s == "required") return ClientAuth::required;
  throw std::invalid_argument("ssl_client_auth '" + s + "': expected none, requested or required");
}

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto b = cur.find_first_not_of(" \t");
    auto e = cur.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : text) {
    if (c == sep)
      flush();
    else
      cur += c;
  }
  flush();
  return out;
}

void SecurityConfig::load_toml(const toml::table& t) {
  auto str = [&](const char* key, auto&& apply) {
    if (auto* node = t.get(key)) {
      auto v = node->value<std::string>();
      if (!v) throw std::invalid_argument(std::string("config key '") + key + "': expected a string");
      apply(*v);
    }
  };
  auto strs = [&](const char* key, std::vector<std::string>& field, char sep) {
    if (auto* node = t.get(key)) {
      field.clear();
      if (auto* arr = node->as_array()) {
        for (auto& e : *arr) {
          auto v = e.value<std::string>();
          if (!v) throw std::invalid_argument(std::string("config key '") + key + "': expected strings");
          field.push_back(*v);
        }
      } else if (auto v = node->value<std::string>()) {
        field = split_list(*v, sep);
      } else {
        throw std::invalid_argument(std::string("config key '") + key + "': expected a string or an array");
      }
    }
  };
  auto num = [&](const char* key, std::uint32_t& field) {
    if (auto* node = t.get(key)) {
      auto v = node->value<std::int64_t>();
      if (!v || *v < 0 || *v > 0xffffffffLL)
        throw std::invalid_argument(std::string("config key '") + key + "': expected a non-negative integer");
      field = static_cast<std::uint32_t>(*v);
    }
  };
  str("listeners", [&](const std::string& v) { listeners = parse_listeners(v); });
  str("advertised_listeners", [&](const std::string& v) { advertised_listeners = parse_listeners(v); });
  str("ssl_cert_file", [&](const std::string& v) { ssl_cert_file = v; });
  str("ssl_key_file", [&](const std::string& v) { ssl_key_file = v; });
  str("ssl_ca_file", [&](const std::string& v) { ssl_ca_file = v; });
  str("ssl_client_auth", [&](const std::string& v) { ssl_client_auth = parse_client_auth(v); });
  strs("sasl_mechanisms", sasl_mechanisms, ',');
  strs("scram_users", scram_users, ',');
  num("scram_iterations", scram_iterations);
  auto boolean = [&](const char* key, bool& field) {
    if (auto* node = t.get(key)) {
      auto v = node->value<bool>();
      if (!v) throw std::invalid_argument(std::string("config key '") + key + "': expected a boolean");
      field = *v;
    }
  };
  boolean("authorizer", authorizer);
  boolean("allow_everyone_if_no_acl_found", allow_everyone_if_no_acl_found);
  strs("super_users", super_users, ';');
  num("auth_timeout_ms", auth_timeout_ms);
  num("max_unauthenticated_request_bytes", max_unauthenticated_request_bytes);
  num("max_connections_per_ip", max_connections_per_ip);
  num("connections_max_reauth_ms", connections_max_reauth_ms);
  str("inter_broker_listener_name", [&](const std::string& v) { inter_broker_listener_name = v; });
  str("inter_broker_sasl_mechanism", [&](const std::string& v) { inter_broker_sasl_mechanism = v; });
  str("inter_broker_sasl_username", [&](const std::string& v) { inter_broker_sasl_username = v; });
  str("inter_broker_sasl_password", [&](const std::string& v) { inter_broker_sasl_password = v; });
}

bool SecurityConfig::any_tls() const {
  for (const auto& l : listeners)
    if (uses_tls(l.protocol)) return true;
  return false;
}

bool SecurityConfig::any_sasl() const {
  for (const auto& l : listeners)
    if (uses_sasl(l.protocol)) return true;
  return false;
}

void SecurityConfig::validate() const {
  // Two listeners on one port would both bind it (SO_REUSEPORT) and split
  // its connections between two protocols.
  for (std::size_t i = 0; i < listeners.size(); ++i)
    for (std::size_t j = i + 1; j < listeners.size(); ++j)
      if (listeners[i].port != 0 && listeners[i].port == listeners[j].port)
        throw std::invalid_argument("listeners " + listeners[i].to_string() + " and " + listeners[j].to_string() +
                                    " share port " + std::to_string(listeners[i].port));
  if (any_tls() && (ssl_cert_file.empty() || ssl_key_file.empty()))
    throw std::invalid_argument("SSL and SASL_SSL listeners need ssl_cert_file and ssl_key_file");
  if (ssl_client_auth != ClientAuth::none && ssl_ca_file.empty())
    throw std::invalid_argument("ssl_client_auth " + std::string(to_string(ssl_client_auth)) +
                                " needs ssl_ca_file");
  for (const auto& m : sasl_mechanisms)
    if (m != "PLAIN" && m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512")
      throw std::invalid_argument("sasl_mechanisms: unknown mechanism '" + m +
                                  "' (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)");
  for (const auto& u : scram_users)
    if (u.find(':') == std::string::npos || u.front() == ':')
      throw std::invalid_argument("scram_users: expected name:password, got an entry without a name or ':'");
  if (scram_iterations < 4096 || scram_iterations > 100'000)
    throw std::invalid_argument("scram_iterations: expected 4096..100000");
  if (connections_max_reauth_ms != 0 && connections_max_reauth_ms < 1000)
    throw std::invalid_argument("connections_max_reauth_ms: expected 0 (off) or at least 1000");
  for (const auto& s : super_users)
    if (s.find(':') == std::string::npos)
      throw std::invalid_argument("super_users: '" + s + "' is not a principal (Type:name, e.g. User:admin)");
  validate_inter_broker();
}

void SecurityConfig::validate_inter_broker() const {
  const auto& name = inter_broker_listener_name;
  if (name.empty()) return;
  const ListenerSpec* l = nullptr;
  for (const auto& x : listeners)
    if (name == to_string(x.protocol)) l = &x;
  if (!l)
    throw std::invalid_argument("inter_broker_listener_name: '" + name + "' is not one of the listeners");
  if (uses_tls(l->protocol))
    throw std::invalid_argument("inter_broker_listener_name: brokers connect to one another on PLAINTEXT or "
                                "SASL_PLAINTEXT, not '" + name + "'");
  if (!uses_sasl(l->protocol)) return;
  const auto& m = inter_broker_sasl_mechanism;
  if (m != "PLAIN" && m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512")
    throw std::invalid_argument("inter_broker_sasl_mechanism: unknown mechanism '" + m + "'");
  if (inter_broker_sasl_username.empty() || inter_broker_sasl_password.empty())
    throw std::invalid_argument("inter_broker_listener_name " + name +
                                " needs inter_broker_sasl_username and inter_broker_sasl_password");
}

}  // namespace nocopy::security
