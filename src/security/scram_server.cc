#include "security/scram_server.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <optional>
#include <vector>

namespace nocopy::security {

namespace {

ScramServer::Step fail(std::string why) {
  ScramServer::Step s;
  s.status = ScramServer::Status::failed;
  s.error = std::move(why);
  return s;
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    auto c = s.find(',');
    out.push_back(s.substr(0, c));
    if (c == std::string_view::npos) return out;
    s.remove_prefix(c + 1);
  }
}

// saslname: "=2C" is ',', "=3D" is '='; any other '=' is an error.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    if (s.substr(i, 3) == "=2C")
      out += ',';
    else if (s.substr(i, 3) == "=3D")
      out += '=';
    else
      return std::nullopt;
    i += 2;
  }
  return out;
}

bool printable_nonce(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return true;
}

}  // namespace

ScramServer::Step ScramServer::step(std::string_view in) {
  switch (state_) {
    case 0: return first(in);
    case 1: return final(in);
    default: return fail("the exchange is already finished");
  }
}

ScramServer::Step ScramServer::first(std::string_view in) {
  state_ = 2;  // a failure ends the exchange
  // gs2-header: cbind-flag "," [authzid] ","
  auto c1 = in.find(',');
  if (c1 == std::string_view::npos) return fail("client-first: no gs2 header");
  auto flag = in.substr(0, c1);
  if (flag != "n" && flag != "y") return fail("client-first: channel binding is not supported");
  auto c2 = in.find(',', c1 + 1);
  if (c2 == std::string_view::npos) return fail("client-first: no gs2 header");
  auto authz = in.substr(c1 + 1, c2 - c1 - 1);
  gs2_header_ = std::string(in.substr(0, c2 + 1));
  client_first_bare_ = std::string(in.substr(c2 + 1));
  auto attrs = split_commas(client_first_bare_);
  if (attrs.size() < 2 || attrs[0].substr(0, 2) != "n=" || attrs[1].substr(0, 2) != "r=")
    return fail("client-first: expected n=user,r=nonce");
  for (std::size_t i = 2; i < attrs.size(); ++i)
    if (attrs[i].substr(0, 10) == "tokenauth=") return fail("delegation tokens are not supported");
  auto user = decode_saslname(attrs[0].substr(2));
  if (!user || user->empty()) return fail("client-first: bad user name");
  if (!authz.empty()) {
    if (authz.substr(0, 2) != "a=") return fail("client-first: bad authorization id");
    auto az = decode_saslname(authz.substr(2));
    if (!az || *az != *user) return fail("authorization id differs from the user");
  }
  auto cnonce = attrs[1].substr(2);
  if (!printable_nonce(cnonce)) return fail("client-first: bad nonce");
  auto cred = store_.credential(*user, mechanism_);
  if (!cred) return fail("unknown user or no " + std::string(to_string(mechanism_)) + " credential");
  cred_ = std::move(*cred);
  user_ = std::move(*user);
  unsigned char rnd[24];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return fail("RAND_bytes failed");
  nonce_ = std::string(cnonce) + base64_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd));
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(cred_.salt) + ",i=" + std::to_string(cred_.iterations);
  state_ = 1;
  Step s;
  s.status = Status::more;
  s.out = server_first_;
  return s;
}

ScramServer::Step ScramServer::final(std::string_view in) {
  state_ = 2;
  auto p = in.rfind(",p=");
  if (p == std::string_view::npos) return fail("client-final: no proof");
  auto without_proof = in.substr(0, p);
  auto proof = base64_decode(in.substr(p + 3));
  if (!proof || proof->size() != hash_size(mechanism_)) return fail("client-final: bad proof");
  auto attrs = split_commas(without_proof);
  if (attrs.size() < 2 || attrs[0].substr(0, 2) != "c=" || attrs[1].substr(0, 2) != "r=")
    return fail("client-final: expected c=...,r=...");
  auto cb = base64_decode(attrs[0].substr(2));
  if (!cb || *cb != gs2_header_) return fail("client-final: channel binding data differs from the gs2 header");
  auto nonce = attrs[1].substr(2);
  // Kafka's rule: the nonce must end with the server's (librdkafka repeats its own nonce in front).
  if (nonce.size() < nonce_.size() || nonce.substr(nonce.size() - nonce_.size()) != nonce_)
    return fail("client-final: nonce mismatch");
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string client_signature = scram_hmac(mechanism_, cred_.stored_key, auth_message);
  std::string client_key(proof->size(), '\0');
  for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
  const std::string stored = scram_hash(mechanism_, client_key);
  OPENSSL_cleanse(client_key.data(), client_key.size());
  if (stored.size() != cred_.stored_key.size() ||
      CRYPTO_memcmp(stored.data(), cred_.stored_key.data(), stored.size()) != 0)
    return fail("invalid credentials");
  Step s;
  s.status = Status::done;
  s.out = "v=" + base64_encode(scram_hmac(mechanism_, cred_.server_key, auth_message));
  return s;
}

}  // namespace nocopy::security
