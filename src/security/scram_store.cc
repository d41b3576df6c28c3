#include "security/scram_store.h"

#include "security/atomic_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

namespace nocopy::security {

const char* to_string(ScramMechanism m) {
  switch (m) {
    case ScramMechanism::sha256: return "SCRAM-SHA-256";
    case ScramMechanism::sha512: return "SCRAM-SHA-512";
    case ScramMechanism::unknown: break;
  }
  return "UNKNOWN";
}

ScramMechanism parse_scram_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::sha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::sha512;
  return ScramMechanism::unknown;
}

std::size_t hash_size(ScramMechanism m) { return m == ScramMechanism::sha512 ? 64 : 32; }

namespace {

const EVP_MD* digest(ScramMechanism m) { return m == ScramMechanism::sha512 ? EVP_sha512() : EVP_sha256(); }

}  // namespace

std::string scram_hmac(ScramMechanism m, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!HMAC(digest(m), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len))
    throw std::runtime_error("HMAC failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string scram_hash(ScramMechanism m, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!EVP_Digest(data.data(), data.size(), out, &len, digest(m), nullptr)) throw std::runtime_error("digest failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string salted_password(ScramMechanism m, std::string_view password, std::string_view salt, int iterations) {
  std::string out(hash_size(m), '\0');
  if (!PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                         reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                         iterations, digest(m), static_cast<int>(out.size()),
                         reinterpret_cast<unsigned char*>(out.data())))
    throw std::runtime_error("PBKDF2 failed");
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock keeps the padding's zero bytes.
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

ScramCredential credential_from_salted(ScramMechanism m, std::int32_t iterations, std::string salt,
                                       std::string_view salted) {
  ScramCredential c;
  c.mechanism = m;
  c.iterations = iterations;
  c.salt = std::move(salt);
  c.stored_key = scram_hash(m, scram_hmac(m, salted, "Client Key"));
  c.server_key = scram_hmac(m, salted, "Server Key");
  return c;
}

ScramCredential credential_from_password(ScramMechanism m, std::string_view password, std::int32_t iterations,
                                         std::string salt) {
  if (salt.empty()) {
    salt.resize(24);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1)
      throw std::runtime_error("RAND_bytes failed");
  }
  auto sp = salted_password(m, password, salt, iterations);
  auto c = credential_from_salted(m, iterations, std::move(salt), sp);
  OPENSSL_cleanse(sp.data(), sp.size());
  return c;
}

ScramStore::ScramStore(std::filesystem::path path, SharedDocument* shared) : path_(std::move(path)), shared_(shared) {}

ScramStore::Users ScramStore::parse_text(std::string_view text, const std::string& origin) {
  Users users;
  std::istringstream in{std::string(text)};
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line.front() == '#') continue;
    std::istringstream ls(line);
    std::string mech, salt, stored, server, user;
    std::int64_t iter = 0;
    ls >> mech >> iter >> salt >> stored >> server >> user;
    ScramCredential c;
    c.mechanism = parse_scram_mechanism(mech);
    auto s = base64_decode(salt), st = base64_decode(stored), sv = base64_decode(server), u = base64_decode(user);
    if (!ls || c.mechanism == ScramMechanism::unknown || iter < 1 || iter > (1 << 30) || !s || !st || !sv || !u ||
        st->size() != hash_size(c.mechanism) || sv->size() != hash_size(c.mechanism) || u->empty())
      throw std::runtime_error(origin + ":" + std::to_string(lineno) + ": malformed credential");
    c.iterations = static_cast<std::int32_t>(iter);
    c.salt = *s;
    c.stored_key = *st;
    c.server_key = *sv;
    auto& v = users[*u];
    std::erase_if(v, [&](const ScramCredential& o) { return o.mechanism == c.mechanism; });
    v.push_back(std::move(c));
  }
  return users;
}

std::string ScramStore::text(const Users& users) {
  std::ostringstream out;
  out << "# nocopy scram credentials v1\n";
  for (const auto& [user, creds] : users)
    for (const auto& c : creds)
      out << to_string(c.mechanism) << ' ' << c.iterations << ' ' << base64_encode(c.salt) << ' '
          << base64_encode(c.stored_key) << ' ' << base64_encode(c.server_key) << ' ' << base64_encode(user) << '\n';
  return out.str();
}

void ScramStore::load() {
  if (shared_) {
    bool first = true;
    shared_->subscribe([this, first](const SharedDocument::Text& t) mutable {
      Users users;
      try {
        if (t) users = parse_text(*t, "shared SCRAM credentials");
      } catch (const std::exception& e) {
        if (first) throw;
        spdlog::error("scram: ignoring malformed shared credentials ({}); the previous ones stay in force", e.what());
        return;
      }
      first = false;
      std::unique_lock lk(mu_);
      users_ = std::move(users);
    });
    return;
  }
  std::unique_lock lk(mu_);
  users_.clear();
  if (path_.empty()) return;
  std::ifstream in(path_);
  if (!in) {
    if (!std::filesystem::exists(path_)) return;
    throw std::runtime_error("cannot read " + path_.string());
  }
  std::ostringstream content;
  content << in.rdbuf();
  users_ = parse_text(content.str(), path_.string());
}

void ScramStore::save_locked() const {
  if (!path_.empty()) write_file_atomically(path_, text(users_), 0600);
}

bool ScramStore::edit(const std::function<bool(Users&)>& change) {
  if (shared_) {
    bool changed = false;
    shared_->update([&](const SharedDocument::Text& current) -> SharedDocument::Text {
      auto users = current ? parse_text(*current, "shared SCRAM credentials") : Users{};
      changed = change(users);
      if (!changed) return std::nullopt;
      return text(users);
    });
    return changed;
  }
  std::unique_lock lk(mu_);
  auto before = users_;
  if (!change(users_)) return false;
  try {
    save_locked();
  } catch (...) {
    users_ = std::move(before);
    throw;
  }
  return true;
}

void ScramStore::upsert(const std::string& user, ScramCredential cred) {
  edit([&](Users& users) {
    auto& v = users[user];
    std::erase_if(v, [&](const ScramCredential& o) { return o.mechanism == cred.mechanism; });
    v.push_back(cred);
    return true;
  });
}

bool ScramStore::remove(const std::string& user, ScramMechanism m) {
  return edit([&](Users& users) {
    auto it = users.find(user);
    if (it == users.end()) return false;
    if (std::erase_if(it->second, [&](const ScramCredential& o) { return o.mechanism == m; }) == 0) return false;
    if (it->second.empty()) users.erase(it);
    return true;
  });
}

std::vector<ScramCredential> ScramStore::credentials(const std::string& user) const {
  std::shared_lock lk(mu_);
  auto it = users_.find(user);
  return it == users_.end() ? std::vector<ScramCredential>{} : it->second;
}

std::vector<std::string> ScramStore::users() const {
  std::shared_lock lk(mu_);
  std::vector<std::string> out;
  for (const auto& [u, c] : users_) out.push_back(u);
  return out;
}

bool ScramStore::has_user(const std::string& user) const {
  std::shared_lock lk(mu_);
  return users_.contains(user);
}

bool ScramStore::verify_password(const std::string& user, std::string_view password) const {
  auto creds = credentials(user);
  for (const auto& c : creds) {
    auto d = credential_from_password(c.mechanism, password, c.iterations, c.salt);
    if (d.stored_key.size() == c.stored_key.size() &&
        CRYPTO_memcmp(d.stored_key.data(), c.stored_key.data(), c.stored_key.size()) == 0)
      return true;
  }
  return false;
}

std::optional<ScramCredential> ScramStore::credential(const std::string& user, ScramMechanism m) const {
  std::shared_lock lk(mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  for (const auto& c : it->second)
    if (c.mechanism == m) return c;
  return std::nullopt;
}

}  // namespace nocopy::security
