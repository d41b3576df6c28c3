// ScramStore: SCRAM-SHA-256/512 credentials, stored salted (RFC 5802: the
// salt, the iteration count, StoredKey = H(HMAC(SaltedPassword, "Client
// Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"); never the
// password), persisted in one file and managed with Kafka's
// DescribeUserScramCredentials / AlterUserScramCredentials.
//
// The crypto (PBKDF2, HMAC, SHA-2, random salts, constant-time compare,
// base64) is OpenSSL's. The SCRAM exchange (security/scram_server.h) reads
// the stored keys; PLAIN (Cyrus SASL, security/sasl_server.h) is checked
// with verify_password(), which derives the keys from the offered password
// and compares.
//
// File: one line per credential, `<mechanism> <iterations> <salt> <stored
// key> <server key> <user>` (all but the mechanism and the count base64),
// after a `# nocopy scram credentials v1` line. Saved by writing a temporary
// file, fsync, rename, fsync of the directory, so a crash leaves the old or
// the new file. A malformed file throws at load (naming the line): the
// broker refuses to start rather than silently lose its users.
//
// Shared (cluster mode): given a SharedDocument, the same text lives there
// instead of the file. load() subscribes and holds the stored credentials
// before it returns; every later version replaces them as it arrives (a
// malformed one is logged and ignored); upsert()/remove() update the
// document conditioned on the version read (security/shared_document.h), so
// a user created through one broker logs in on every broker.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "security/shared_document.h"

namespace nocopy::security {

// Kafka's ScramMechanism numbers.
enum class ScramMechanism : std::int8_t { unknown = 0, sha256 = 1, sha512 = 2 };
const char* to_string(ScramMechanism m);  // "SCRAM-SHA-256"
ScramMechanism parse_scram_mechanism(std::string_view name);
std::size_t hash_size(ScramMechanism m);  // 32 / 64

struct ScramCredential {
  ScramMechanism mechanism = ScramMechanism::unknown;
  std::int32_t iterations = 0;
  std::string salt;
  std::string stored_key;
  std::string server_key;
};

// Keys from a salted password (what AlterUserScramCredentials carries).
ScramCredential credential_from_salted(ScramMechanism m, std::int32_t iterations, std::string salt,
                                       std::string_view salted_password);
// PBKDF2 of the password, then the keys. `salt` empty: 24 random bytes.
ScramCredential credential_from_password(ScramMechanism m, std::string_view password, std::int32_t iterations,
                                         std::string salt = {});

// PBKDF2 with the mechanism's SHA-2 (RFC 5802's Hi()).
std::string salted_password(ScramMechanism m, std::string_view password, std::string_view salt, int iterations);
// HMAC and hash of the mechanism's SHA-2 (OpenSSL).
std::string scram_hmac(ScramMechanism m, std::string_view key, std::string_view data);
std::string scram_hash(ScramMechanism m, std::string_view data);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

class ScramStore {
 public:
  // path empty and no shared document: in memory only (tests). `shared`
  // outlives the store.
  explicit ScramStore(std::filesystem::path path = {}, SharedDocument* shared = nullptr);

  void load();  // throws std::runtime_error on an unreadable or malformed file or document
  // Replace (or add) the user's credential for its mechanism; persists.
  // Throws std::system_error if the file cannot be written (memory unchanged),
  // std::runtime_error if the shared document cannot be.
  void upsert(const std::string& user, ScramCredential cred);
  // false: the user had no credential for that mechanism.
  bool remove(const std::string& user, ScramMechanism m);

  std::vector<ScramCredential> credentials(const std::string& user) const;
  std::vector<std::string> users() const;
  bool has_user(const std::string& user) const;
  // PLAIN: the password matches one of the user's credentials.
  bool verify_password(const std::string& user, std::string_view password) const;
  std::optional<ScramCredential> credential(const std::string& user, ScramMechanism m) const;

 private:
  using Users = std::map<std::string, std::vector<ScramCredential>>;
  static Users parse_text(std::string_view text, const std::string& origin);
  static std::string text(const Users& users);
  void save_locked() const;
  // Applies `change` to the credentials and persists them when it returns true.
  bool edit(const std::function<bool(Users&)>& change);

  std::filesystem::path path_;
  SharedDocument* shared_ = nullptr;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::vector<ScramCredential>> users_;
};

}  // namespace nocopy::security
