// Listener specifications: `PLAINTEXT://host:port,SSL://host:port,...` as in
// Kafka's `listeners` / `advertised.listeners`.
//
// A listener's name is its security protocol (PLAINTEXT, SSL,
// SASL_PLAINTEXT, SASL_SSL); each name may appear once. An empty host means
// every address (0.0.0.0); port 0 binds any free port. An advertised
// listener is matched to a listener by name; a listener without one
// advertises its own address (127.0.0.1 for a wildcard host).
//
// Errors throw std::invalid_argument naming the offending entry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nocopy::security {

enum class SecurityProtocol : std::uint8_t { plaintext, ssl, sasl_plaintext, sasl_ssl };

const char* to_string(SecurityProtocol p);
std::optional<SecurityProtocol> parse_protocol(std::string_view name);
inline bool uses_tls(SecurityProtocol p) { return p == SecurityProtocol::ssl || p == SecurityProtocol::sasl_ssl; }
inline bool uses_sasl(SecurityProtocol p) {
  return p == SecurityProtocol::sasl_plaintext || p == SecurityProtocol::sasl_ssl;
}

struct ListenerSpec {
  SecurityProtocol protocol = SecurityProtocol::plaintext;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;

  std::string name() const { return security::to_string(protocol); }
  std::string address() const;  // "host:port" ("[v6]:port" for IPv6 hosts)
  std::string to_string() const { return name() + "://" + address(); }
};

// "PLAINTEXT://127.0.0.1:9092,SSL://:9093"; an empty string gives no listener.
std::vector<ListenerSpec> parse_listeners(std::string_view text);
std::string format_listeners(const std::vector<ListenerSpec>& specs);

// The address clients are told to use for `listener`: its advertised entry
// (same protocol) if there is one, else its own address with a wildcard host
// replaced by 127.0.0.1.
ListenerSpec advertised_for(const ListenerSpec& listener, const std::vector<ListenerSpec>& advertised);

}  // namespace nocopy::security
