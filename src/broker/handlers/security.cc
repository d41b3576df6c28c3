// Security family. SaslHandshake v0-1 and SaslAuthenticate v0-2 reach this
// handler only where no SASL exchange is expected (a non-SASL listener, or
// a connection already authenticated): ILLEGAL_SASL_STATE, as Kafka.
// DescribeUserScramCredentials v0 and AlterUserScramCredentials v0 manage
// the SCRAM store (security/scram_store.h); the store is written on the
// admin thread (a file write and two fsyncs).
#include <map>
#include <set>

#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "security/scram_store.h"

namespace nocopy::broker {

using namespace handlers;

void RequestHandler::sasl_not_expected(const Header& h, Done& done) {
  if (h.api_key == static_cast<std::int16_t>(kafka::ApiKey::sasl_handshake)) {
    kafka::SaslHandshakeResponse res;
    res.error_code = code(ErrorCode::illegal_sasl_state);
    return done(respond(encode(h, res)));
  }
  kafka::SaslAuthenticateResponse res;
  res.error_code = code(ErrorCode::illegal_sasl_state);
  res.error_message = "no SASL exchange is expected on this connection";
  done(respond(encode(h, res)));
}

// Authorization: DESCRIBE (Describe...) and ALTER (Alter...) on the cluster.
void RequestHandler::describe_user_scram_credentials(const Header& h,
                                                     const kafka::DescribeUserScramCredentialsRequest& req,
                                                     Done& done, const Access& access) {
  kafka::DescribeUserScramCredentialsResponse res;
  if (!access.cluster(security::AclOperation::describe)) {
    res.error_code = code(ErrorCode::cluster_authorization_failed);
    res.error_message = "not authorized to describe SCRAM credentials";
    return done(respond(encode(h, res)));
  }
  if (!scram_) {
    res.error_code = code(ErrorCode::security_disabled);
    res.error_message = "SCRAM credentials are not managed by this broker (no SASL listener)";
    return done(respond(encode(h, res)));
  }
  std::vector<std::string> names;
  std::map<std::string, int> seen;
  if (req.users) {
    for (const auto& u : *req.users) ++seen[u.name];
    for (const auto& u : *req.users) names.push_back(u.name);
  } else {
    names = scram_->users();
  }
  std::set<std::string> done_names;
  for (const auto& name : names) {
    if (!done_names.insert(name).second) continue;
    auto& r = res.results.emplace_back();
    r.user = name;
    if (seen[name] > 1) {
      r.error_code = code(ErrorCode::duplicate_resource);
      r.error_message = "Cannot describe SCRAM credentials for the same user twice in a single request: " + name;
      continue;
    }
    auto creds = scram_->credentials(name);
    if (creds.empty()) {
      r.error_code = code(ErrorCode::resource_not_found);
      r.error_message = "Attempt to describe a user credential that does not exist: " + name;
      continue;
    }
    for (const auto& c : creds) r.credential_infos.push_back({static_cast<std::int8_t>(c.mechanism), c.iterations});
  }
  done(respond(encode(h, res)));
}

namespace {

// Per-user outcome of one AlterUserScramCredentials request: the first
// failure wins, a user without one succeeded.
class AlterOutcome {
 public:
  void fail(const std::string& user, ErrorCode e, std::string msg) {
    if (!failed_.contains(user)) failed_[user] = {code(e), std::move(msg)};
  }
  bool failed(const std::string& user) const { return failed_.contains(user); }
  kafka::AlterUserScramCredentialsResponse::Result result(const std::string& user) const {
    auto it = failed_.find(user);
    if (it == failed_.end()) return {user, 0, std::nullopt};
    return {user, it->second.first, it->second.second};
  }

 private:
  std::map<std::string, std::pair<std::int16_t, std::string>> failed_;
};

bool known_mechanism(std::int8_t m) {
  const auto mech = static_cast<security::ScramMechanism>(m);
  return mech == security::ScramMechanism::sha256 || mech == security::ScramMechanism::sha512;
}

// Kafka refuses an empty user name and a user named twice for one mechanism.
void check_alterations(const kafka::AlterUserScramCredentialsRequest& req, const std::set<std::string>& users,
                       AlterOutcome& out) {
  for (const auto& user : users) {
    if (user.empty()) out.fail(user, ErrorCode::unacceptable_credential, "Username must not be empty");
    std::map<std::int8_t, int> per_mech;
    for (const auto& x : req.deletions)
      if (x.name == user) ++per_mech[x.mechanism];
    for (const auto& x : req.upsertions)
      if (x.name == user) ++per_mech[x.mechanism];
    for (const auto& [m, k] : per_mech)
      if (k > 1)
        out.fail(user, ErrorCode::duplicate_resource, "A user credential cannot be altered twice in the same request");
  }
}

void apply_upsertion(security::ScramStore& store, const kafka::AlterUserScramCredentialsRequest::Upsertion& x,
                     AlterOutcome& out) {
  if (!known_mechanism(x.mechanism))
    return out.fail(x.name, ErrorCode::unsupported_sasl_mechanism, "Unknown SCRAM mechanism");
  if (x.iterations < 4096 || x.iterations > 16384)
    return out.fail(x.name, ErrorCode::unacceptable_credential,
                    x.iterations < 4096 ? "Too few iterations" : "Too many iterations");
  if (x.salt.empty() || x.salted_password.empty())
    return out.fail(x.name, ErrorCode::unacceptable_credential, "Salt and salted password must not be empty");
  std::string salt(reinterpret_cast<const char*>(x.salt.data()), x.salt.size());
  std::string salted(reinterpret_cast<const char*>(x.salted_password.data()), x.salted_password.size());
  try {
    store.upsert(x.name, security::credential_from_salted(static_cast<security::ScramMechanism>(x.mechanism),
                                                          x.iterations, std::move(salt), salted));
  } catch (const std::exception& e) {
    out.fail(x.name, ErrorCode::unknown_server_error, e.what());
  }
}

}  // namespace

void RequestHandler::alter_user_scram_credentials(const Header& h, kafka::AlterUserScramCredentialsRequest& req,
                                                  net::EventLoop& loop, Done& done, const Access& access) {
  std::set<std::string> users;
  for (const auto& d : req.deletions) users.insert(d.name);
  for (const auto& u : req.upsertions) users.insert(u.name);
  if (!access.cluster(security::AclOperation::alter)) {
    kafka::AlterUserScramCredentialsResponse res;
    for (const auto& n : users)
      res.results.push_back({n, code(ErrorCode::cluster_authorization_failed), "not authorized"});
    return done(respond(encode(h, res)));
  }
  if (!scram_) {
    kafka::AlterUserScramCredentialsResponse res;
    for (const auto& n : users)
      res.results.push_back({n, code(ErrorCode::security_disabled), "SCRAM credentials are not managed here"});
    return done(respond(encode(h, res)));
  }
  // The store is written on the admin thread (a file write and fsyncs).
  admin_.submit([this, h, req = std::move(req), users, &loop, d = std::move(done)]() mutable {
    AlterOutcome out;
    check_alterations(req, users, out);
    for (const auto& x : req.deletions) {
      if (out.failed(x.name)) continue;
      if (!known_mechanism(x.mechanism)) {
        out.fail(x.name, ErrorCode::unsupported_sasl_mechanism, "Unknown SCRAM mechanism");
        continue;
      }
      try {
        if (!scram_->remove(x.name, static_cast<security::ScramMechanism>(x.mechanism)))
          out.fail(x.name, ErrorCode::resource_not_found, "Attempt to delete a user credential that does not exist");
      } catch (const std::exception& e) {
        out.fail(x.name, ErrorCode::unknown_server_error, e.what());
      }
    }
    for (const auto& x : req.upsertions)
      if (!out.failed(x.name)) apply_upsertion(*scram_, x, out);
    kafka::AlterUserScramCredentialsResponse res;
    for (const auto& user : users) res.results.push_back(out.result(user));
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

}  // namespace nocopy::broker
