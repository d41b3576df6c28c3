// libFuzzer target for the server side of SASL (security/sasl_server.h):
// PLAIN through Cyrus SASL and SCRAM-SHA-256/512 through ScramServer, fed
// client messages an attacker chose -- the bytes a SaslAuthenticate request
// carries before authentication. Built by fuzz/CMakeLists.txt, run by
// scripts/fuzz.sh.
//
// Input: byte 0 picks the mechanism; the rest is split at "\n--\n" into up
// to four client messages, fed in order until the exchange ends.
// Properties checked: no crash/UB/leak; a finished exchange names a user
// that has credentials; output stays small (SCRAM's server-first and
// server-final are bounded by the client's input plus a constant).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "security/sasl_server.h"
#include "security/scram_store.h"

using namespace nocopy::security;

namespace {

SaslAuthenticator& authenticator() {
  static ScramStore store;  // in memory: no file
  static std::unique_ptr<SaslAuthenticator> auth = [] {
    for (auto m : {ScramMechanism::sha256, ScramMechanism::sha512})
      store.upsert("alice", credential_from_password(m, "alice-secret", 4096, "fixed-salt-for-fuzzing"));
    return std::make_unique<SaslAuthenticator>(store, std::vector<std::string>{"PLAIN", "SCRAM-SHA-256",
                                                                                "SCRAM-SHA-512"});
  }();
  return *auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* kMechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
  auto ex = authenticator().start(kMechs[data[0] % 3]);
  if (!ex) return 0;  // PLAIN without Cyrus's plugin installed
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  for (int i = 0; i < 4; ++i) {
    const auto cut = rest.find("\n--\n");
    const std::string_view msg = rest.substr(0, cut);
    auto step = ex->step(msg);
    if (step.out.size() > msg.size() + 4096) std::abort();
    if (step.status == SaslExchange::Status::done && ex->user() != "alice") std::abort();
    if (step.status != SaslExchange::Status::more || cut == std::string_view::npos) break;
    rest.remove_prefix(cut + 4);
  }
  return 0;
}
