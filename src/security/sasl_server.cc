#include "security/sasl_server.h"

#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>

namespace nocopy::security {

namespace {

std::atomic<ScramStore*> g_store{nullptr};
std::string g_mech_list;  // written before init, read by Cyrus afterwards
constexpr const char* kService = "kafka";
constexpr const char* kPluginName = "nocopy";

int on_getopt(void*, const char* plugin, const char* option, const char** result, unsigned* len) {
  const char* v = nullptr;
  if (plugin == nullptr || *plugin == '\0') {
    if (std::strcmp(option, "auxprop_plugin") == 0) v = kPluginName;
    if (std::strcmp(option, "pwcheck_method") == 0) v = "auxprop";
    if (std::strcmp(option, "mech_list") == 0) v = g_mech_list.c_str();
  }
  if (v == nullptr) return SASL_FAIL;
  *result = v;
  if (len) *len = static_cast<unsigned>(std::strlen(v));
  return SASL_OK;
}

int on_log(void*, int level, const char* message) {
  if (level <= SASL_LOG_ERR)
    spdlog::warn("sasl: {}", message);
  else
    spdlog::debug("sasl: {}", message);
  return SASL_OK;
}

int on_checkpass(sasl_conn_t*, void*, const char* user, const char* pass, unsigned passlen, struct propctx*) {
  ScramStore* s = g_store.load();
  if (s == nullptr || user == nullptr || pass == nullptr) return SASL_BADAUTH;
  return s->verify_password(user, std::string_view(pass, passlen)) ? SASL_OK : SASL_BADAUTH;
}

using sasl_cb_fn = int (*)();
// Cyrus takes every callback as int(*)(void); going through void(*)(void)
// is the cast GCC accepts as deliberate.
template <class F>
sasl_cb_fn cb(F* f) {
  return reinterpret_cast<sasl_cb_fn>(reinterpret_cast<void (*)()>(f));
}
const sasl_callback_t kGlobalCallbacks[] = {
    {SASL_CB_GETOPT, cb(&on_getopt), nullptr},
    {SASL_CB_LOG, cb(&on_log), nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};
const sasl_callback_t kConnCallbacks[] = {
    {SASL_CB_SERVER_USERDB_CHECKPASS, cb(&on_checkpass), nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};

// The auxprop plugin: Cyrus looks up properties of every user it
// canonicalises; answering here (with nothing) keeps it from opening sasldb.
int auxprop_lookup(void*, sasl_server_params_t* sparams, unsigned, const char* user, unsigned) {
  if (sparams == nullptr || user == nullptr) return SASL_BADPARAM;
  return SASL_OK;
}

sasl_auxprop_plug_t g_plugin = {
    0, 0, nullptr, nullptr, &auxprop_lookup, const_cast<char*>(kPluginName), nullptr,
};

int auxprop_init(const sasl_utils_t*, int max_version, int* out_version, sasl_auxprop_plug_t** plug,
                 const char*) {
  if (max_version < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
  *out_version = SASL_AUXPROP_PLUG_VERSION;
  *plug = &g_plugin;
  return SASL_OK;
}

std::once_flag g_init_once;
int g_init_result = SASL_OK;

}  // namespace

SaslAuthenticator::SaslAuthenticator(ScramStore& store, std::vector<std::string> mechanisms) : store_(store) {
  g_store.store(&store);
  std::call_once(g_init_once, [&] {
    g_mech_list = "PLAIN";
    g_init_result = sasl_auxprop_add_plugin(kPluginName, &auxprop_init);
    if (g_init_result == SASL_OK) g_init_result = sasl_server_init(kGlobalCallbacks, "nocopy");
  });
  if (g_init_result != SASL_OK)
    throw std::runtime_error(std::string("Cyrus SASL initialisation failed: ") + sasl_errstring(g_init_result, nullptr, nullptr));
  // Which of the configured mechanisms the installed plugins offer.
  sasl_conn_t* conn = nullptr;
  if (sasl_server_new(kService, "localhost", nullptr, nullptr, nullptr, kConnCallbacks, 0, &conn) != SASL_OK)
    throw std::runtime_error("sasl_server_new failed");
  const char* list = nullptr;
  unsigned len = 0;
  int count = 0;
  std::string avail;
  if (sasl_listmech(conn, nullptr, "", " ", "", &list, &len, &count) == SASL_OK && list) avail.assign(list, len);
  sasl_dispose(&conn);
  for (auto& m : mechanisms) {
    std::string padded = " " + avail + " ";
    if (parse_scram_mechanism(m) != ScramMechanism::unknown || padded.find(" " + m + " ") != std::string::npos)
      mechanisms_.push_back(m);
    else
      spdlog::warn("SASL mechanism {} is not offered by the installed Cyrus SASL plugins (libsasl2-modules)", m);
  }
}

SaslAuthenticator::~SaslAuthenticator() {
  ScramStore* expected = &store_;
  g_store.compare_exchange_strong(expected, nullptr);
}

bool SaslAuthenticator::enabled(std::string_view mechanism) const {
  return std::find(mechanisms_.begin(), mechanisms_.end(), mechanism) != mechanisms_.end();
}

std::unique_ptr<SaslExchange> SaslAuthenticator::start(std::string_view mechanism) const {
  if (!enabled(mechanism)) return nullptr;
  if (auto m = parse_scram_mechanism(mechanism); m != ScramMechanism::unknown)
    return std::unique_ptr<SaslExchange>(
        new SaslExchange(nullptr, std::make_unique<ScramServer>(store_, m), std::string(mechanism)));
  sasl_conn_t* conn = nullptr;
  if (sasl_server_new(kService, "localhost", nullptr, nullptr, nullptr, kConnCallbacks, SASL_SUCCESS_DATA, &conn) !=
      SASL_OK)
    return nullptr;
  return std::unique_ptr<SaslExchange>(new SaslExchange(conn, nullptr, std::string(mechanism)));
}

SaslExchange::~SaslExchange() {
  if (conn_) sasl_dispose(&conn_);
}

SaslExchange::Step SaslExchange::step(std::string_view in) {
  if (scram_ && !finished_) {
    auto r = scram_->step(in);
    Step s;
    s.out = std::move(r.out);
    s.error = std::move(r.error);
    s.status = r.status == ScramServer::Status::more ? Status::more
               : r.status == ScramServer::Status::done ? Status::done
                                                       : Status::failed;
    if (s.status != Status::more) finished_ = true;
    if (s.status == Status::done) user_ = scram_->user();
    if (s.status == Status::failed) s.out.clear();
    return s;
  }
  return cyrus_step(in);
}

SaslExchange::Step SaslExchange::cyrus_step(std::string_view in) {
  Step s;
  if (finished_) {
    s.error = "the exchange is already finished";
    return s;
  }
  const char* out = nullptr;
  unsigned outlen = 0;
  int rc;
  if (!started_) {
    started_ = true;
    rc = sasl_server_start(conn_, mechanism_.c_str(), in.data(), static_cast<unsigned>(in.size()), &out, &outlen);
  } else {
    rc = sasl_server_step(conn_, in.data(), static_cast<unsigned>(in.size()), &out, &outlen);
  }
  if (out && outlen) s.out.assign(out, outlen);
  if (rc == SASL_CONTINUE) {
    s.status = Status::more;
    return s;
  }
  finished_ = true;
  if (rc != SASL_OK) {
    s.status = Status::failed;
    const char* detail = sasl_errdetail(conn_);
    s.error = detail ? detail : sasl_errstring(rc, nullptr, nullptr);
    s.out.clear();
    return s;
  }
  const void* user = nullptr;
  if (sasl_getprop(conn_, SASL_USERNAME, &user) != SASL_OK || user == nullptr) {
    s.status = Status::failed;
    s.error = "no user name after authentication";
    return s;
  }
  // Kafka's rule for PLAIN: an authorization id, when the client sends one,
  // must be the authenticated user itself -- the principal is always who
  // proved the password, never a name the client only claimed.
  const void* authuser = nullptr;
  if (sasl_getprop(conn_, SASL_AUTHUSER, &authuser) != SASL_OK || authuser == nullptr ||
      std::string_view(static_cast<const char*>(user)) != std::string_view(static_cast<const char*>(authuser))) {
    s.status = Status::failed;
    s.error = "the authorization id differs from the authenticated user";
    return s;
  }
  user_ = static_cast<const char*>(user);
  s.status = Status::done;
  return s;
}

}  // namespace nocopy::security
