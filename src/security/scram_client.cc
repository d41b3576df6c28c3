#include "security/scram_client.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

namespace nocopy::security {

namespace {

// RFC 5802 saslname: ',' and '=' escaped.
std::string escape_name(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

// The value of attribute `a` in a comma-separated SCRAM message, or empty.
std::string_view attribute(std::string_view msg, char a) {
  std::size_t at = 0;
  while (at <= msg.size()) {
    auto comma = msg.find(',', at);
    auto part = msg.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    if (part.size() >= 2 && part[0] == a && part[1] == '=') return part.substr(2);
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return {};
}

}  // namespace

ScramClient::ScramClient(ScramMechanism m, std::string user, std::string password)
    : mechanism_(m), user_(std::move(user)), password_(std::move(password)) {}

std::string ScramClient::first() {
  unsigned char raw[18];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  nonce_ = base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  client_first_bare_ = "n=" + escape_name(user_) + ",r=" + nonce_;
  return "n,," + client_first_bare_;
}

std::string ScramClient::final_message(std::string_view server_first) {
  const auto nonce = attribute(server_first, 'r');
  const auto salt = base64_decode(attribute(server_first, 's'));
  const auto iter_text = attribute(server_first, 'i');
  int iterations = 0;
  auto [p, ec] = std::from_chars(iter_text.data(), iter_text.data() + iter_text.size(), iterations);
  if (!nonce.starts_with(nonce_) || nonce.size() == nonce_.size() || !salt || salt->empty() || ec != std::errc() ||
      p != iter_text.data() + iter_text.size() || iterations < 1 || iterations > 1'000'000) {
    error_ = "malformed server-first-message";
    return {};
  }
  auto salted = salted_password(mechanism_, password_, *salt, iterations);
  const auto client_key = scram_hmac(mechanism_, salted, "Client Key");
  server_key_ = scram_hmac(mechanism_, salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  const std::string without_proof = "c=biws,r=" + std::string(nonce);
  auth_message_ = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  const auto signature = scram_hmac(mechanism_, scram_hash(mechanism_, client_key), auth_message_);
  std::string proof = client_key;
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ signature[i]);
  return without_proof + ",p=" + base64_encode(proof);
}

bool ScramClient::finish(std::string_view server_final) {
  if (auto e = attribute(server_final, 'e'); !e.empty()) {
    error_ = "server refused: " + std::string(e);
    return false;
  }
  const auto v = base64_decode(attribute(server_final, 'v'));
  const auto expected = scram_hmac(mechanism_, server_key_, auth_message_);
  if (!v || v->size() != expected.size() || CRYPTO_memcmp(v->data(), expected.data(), expected.size()) != 0) {
    error_ = "the server's signature does not match";
    return false;
  }
  return true;
}

}  // namespace nocopy::security
