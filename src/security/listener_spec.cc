#include "security/listener_spec.h"

#include <charconv>
#include <stdexcept>

namespace nocopy::security {

const char* to_string(SecurityProtocol p) {
  switch (p) {
    case SecurityProtocol::plaintext: return "PLAINTEXT";
    case SecurityProtocol::ssl: return "SSL";
    case SecurityProtocol::sasl_plaintext: return "SASL_PLAINTEXT";
    case SecurityProtocol::sasl_ssl: return "SASL_SSL";
  }
  return "?";
}

std::optional<SecurityProtocol> parse_protocol(std::string_view name) {
  if (name == "PLAINTEXT") return SecurityProtocol::plaintext;
  if (name == "SSL") return SecurityProtocol::ssl;
  if (name == "SASL_PLAINTEXT") return SecurityProtocol::sasl_plaintext;
  if (name == "SASL_SSL") return SecurityProtocol::sasl_ssl;
  return std::nullopt;
}

std::string ListenerSpec::address() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

ListenerSpec parse_one(std::string_view entry) {
  const std::string text(entry);
  auto sep = entry.find("://");
  if (sep == std::string_view::npos)
    throw std::invalid_argument("listener '" + text + "': expected PROTOCOL://host:port");
  auto proto = parse_protocol(entry.substr(0, sep));
  if (!proto)
    throw std::invalid_argument("listener '" + text +
                                "': unknown security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)");
  ListenerSpec s;
  s.protocol = *proto;
  auto hp = entry.substr(sep + 3);
  auto colon = hp.rfind(':');
  if (colon == std::string_view::npos) throw std::invalid_argument("listener '" + text + "': expected host:port");
  auto host = hp.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  s.host = host.empty() ? "0.0.0.0" : std::string(host);
  auto ps = hp.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ps.empty() || ec != std::errc() || p != ps.data() + ps.size() || port > 65535)
    throw std::invalid_argument("listener '" + text + "': bad port");
  s.port = static_cast<std::uint16_t>(port);
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<ListenerSpec> parse_listeners(std::string_view text) {
  std::vector<ListenerSpec> out;
  while (!trim(text).empty()) {
    auto comma = text.find(',');
    auto entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (entry.empty()) continue;
    auto spec = parse_one(entry);
    for (const auto& o : out)
      if (o.protocol == spec.protocol)
        throw std::invalid_argument(std::string("listener ") + security::to_string(spec.protocol) +
                                    " given twice");
    out.push_back(std::move(spec));
  }
  return out;
}

std::string format_listeners(const std::vector<ListenerSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    if (!out.empty()) out += ',';
    out += s.to_string();
  }
  return out;
}

ListenerSpec advertised_for(const ListenerSpec& listener, const std::vector<ListenerSpec>& advertised) {
  for (const auto& a : advertised) {
    if (a.protocol != listener.protocol) continue;
    ListenerSpec r = a;
    if (r.host.empty() || r.host == "0.0.0.0") r.host = "127.0.0.1";
    if (r.port == 0) r.port = listener.port;
    return r;
  }
  ListenerSpec r = listener;
  if (r.host.empty() || r.host == "0.0.0.0" || r.host == "::") r.host = "127.0.0.1";
  return r;
}

}  // namespace nocopy::security
