// Broker: listeners, TLS and SASL wiring (broker.h).
#include <spdlog/spdlog.h>

#include <filesystem>

#include "broker/broker.h"
#include "broker/kafka_session.h"

namespace nocopy::broker {

void Broker::start_security() {
  const auto& sec = cfg_.security;
  sec.validate();
  if (sec.any_tls()) {
    net::TlsOptions to;
    to.cert_file = sec.ssl_cert_file;
    to.key_file = sec.ssl_key_file;
    to.ca_file = sec.ssl_ca_file;
    to.client_auth = static_cast<net::TlsOptions::ClientAuth>(sec.ssl_client_auth);
    tls_ = std::make_unique<net::TlsContext>(to);
  }
  if (sec.authorizer) start_authorizer();
  if (!sec.any_sasl() && sec.scram_users.empty()) return;
  start_scram_store();
  handler_.set_scram_store(scram_.get());
  if (!sec.any_sasl()) return;
  sasl_ = std::make_unique<security::SaslAuthenticator>(*scram_, sec.sasl_mechanisms);
  if (sasl_->mechanisms().empty()) throw std::runtime_error("no SASL mechanism available (libsasl2-modules?)");
  std::string list;
  for (const auto& m : sasl_->mechanisms()) list += (list.empty() ? "" : ", ") + m;
  spdlog::info("SASL mechanisms: {} ({} user{} with SCRAM credentials)", list, scram_->users().size(),
               scram_->users().size() == 1 ? "" : "s");
}

std::unique_ptr<cluster::EtcdDocument> Broker::shared_document(const std::string& key) const {
  auto doc = std::make_unique<cluster::EtcdDocument>(
      cluster::EtcdDocument::Options{cluster::EtcdClient::parse_endpoints(cfg_.cluster), key});
  doc->start();  // throws when etcd stays unreachable: the broker does not start
  return doc;
}

// Before any listener serves: an authorizer that holds the stored bindings
// (the file, or in cluster mode etcd's key, read here and then watched).
void Broker::start_authorizer() {
  const auto& sec = cfg_.security;
  std::filesystem::create_directories(cfg_.data_dir);
  security::Authorizer::Options o{true, sec.super_users, sec.allow_everyone_if_no_acl_found, cfg_.data_dir / "acls"};
  std::string where = o.file.string();
  if (cfg_.cluster_mode()) {
    acl_doc_ = shared_document(cluster::Keys{}.acls());
    o.file.clear();
    o.shared = acl_doc_.get();
    where = "etcd key " + acl_doc_->key() + " (watched)";
  }
  authz_ = std::make_unique<security::Authorizer>(std::move(o));
  handler_.set_authorizer(authz_.get());
  spdlog::info("authorizer on: {} ACL binding{} loaded from {}, {} super user{}, no ACL means {}", authz_->size(),
               authz_->size() == 1 ? "" : "s", where, sec.super_users.size(), sec.super_users.size() == 1 ? "" : "s",
               sec.allow_everyone_if_no_acl_found ? "allow" : "deny");
}

// The SCRAM credentials (the file, or in cluster mode etcd's key) with the
// `scram_users` created when they have none.
void Broker::start_scram_store() {
  const auto& sec = cfg_.security;
  std::filesystem::create_directories(cfg_.data_dir);
  if (cfg_.cluster_mode()) {
    scram_doc_ = shared_document(cluster::Keys{}.scram_credentials());
    scram_ = std::make_unique<security::ScramStore>(std::filesystem::path{}, scram_doc_.get());
  } else {
    scram_ = std::make_unique<security::ScramStore>(cfg_.data_dir / "scram_credentials");
  }
  scram_->load();
  for (const auto& entry : sec.scram_users) {
    const auto colon = entry.find(':');
    const auto user = entry.substr(0, colon);
    if (scram_->has_user(user)) continue;
    const auto password = entry.substr(colon + 1);
    for (auto m : {security::ScramMechanism::sha256, security::ScramMechanism::sha512})
      scram_->upsert(user, security::credential_from_password(m, password, static_cast<std::int32_t>(sec.scram_iterations)));
    spdlog::info("SCRAM credentials created for user {}", user);
  }
}

std::unique_ptr<net::ConnectionHandler> Broker::make_session(net::Connection& conn) {
  auto& sender = *senders_.at(conn.loop().index() % senders_.size());
  const std::size_t li = conn.listener_index() < listeners_.size() ? conn.listener_index() : 0;
  ClientContext client;
  client.listener = li;
  client.protocol = listeners_[li].protocol;
  if (!cfg_.security.listeners.empty()) client.advertised = cfg_.advertised_for_listener(li);
  client.host = conn.peer_host();
  const security::SaslAuthenticator* sasl = security::uses_sasl(client.protocol) ? sasl_.get() : nullptr;
  if (security::uses_tls(client.protocol)) conn.set_tls(tls_->new_session(conn.fd()));
  auto session = std::make_unique<KafkaSession>(handler_, cfg_, metrics_, sender, std::move(client), sasl);
  session->start_auth_timer(conn);
  return session;
}

void Broker::reload_tls() {
  if (!tls_) {
    spdlog::info("SIGHUP: no TLS listener, nothing to reload");
    return;
  }
  tls_->reload();
  spdlog::info("SIGHUP: TLS certificate {} and key reloaded; new connections use them", cfg_.security.ssl_cert_file);
}

void Broker::log_listeners() const {
  if (cfg_.security.listeners.empty()) return;
  const auto ktls = tls_ ? net::TlsContext::probe_ktls() : net::KtlsSupport{};
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    const auto& l = listeners_[i];
    spdlog::info("listener {} (advertised {})", l.to_string(), cfg_.advertised_for_listener(i).to_string());
    if (!security::uses_tls(l.protocol)) continue;
    if (ktls.available)
      spdlog::info("listener {}: kernel TLS (the kernel offers the TLS ULP): records encrypted by the kernel, fetched "
                   "file regions sent with SSL_sendfile (no user-space copy) when the negotiated cipher allows it",
                   l.to_string());
    else
      spdlog::info("listener {}: TLS in user space (the kernel has no TLS ULP: {}): fetched file regions are read and "
                   "encrypted by OpenSSL, counted in nocopy_send_bytes_copied_user_total",
                   l.to_string(), ktls.reason);
  }
}

}  // namespace nocopy::broker
