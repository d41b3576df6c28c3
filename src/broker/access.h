// Access: the authorization questions of one request -- the connection's
// principal and peer host put to the Authorizer. Without an authorizer (or
// with it disabled) every question is answered yes.
//
// Thread-safety: a value holding references; used on the request's thread
// (the Authorizer itself is thread-safe).
#pragma once

#include <string>

#include "broker/client_context.h"
#include "security/acl.h"
#include "security/authorizer.h"

namespace nocopy::broker {

class Access {
 public:
  Access(const security::Authorizer* authz, const ClientContext& client) : authz_(authz), client_(client) {}

  bool allowed(security::AclOperation op, security::ResourceType type, const std::string& name) const {
    return !authz_ || authz_->authorize(client_.principal, client_.host, op, type, name);
  }
  bool topic(security::AclOperation op, const std::string& name) const {
    return allowed(op, security::ResourceType::topic, name);
  }
  bool group(security::AclOperation op, const std::string& name) const {
    return allowed(op, security::ResourceType::group, name);
  }
  bool transactional_id(security::AclOperation op, const std::string& name) const {
    return allowed(op, security::ResourceType::transactional_id, name);
  }
  bool cluster(security::AclOperation op) const {
    return allowed(op, security::ResourceType::cluster, std::string(security::kClusterResource));
  }
  // Some resource of `type` allows `op` (Authorizer::authorize_any).
  bool any(security::AclOperation op, security::ResourceType type) const {
    return !authz_ || authz_->authorize_any(client_.principal, client_.host, op, type);
  }
  const ClientContext& client() const { return client_; }

 private:
  const security::Authorizer* authz_;
  const ClientContext& client_;
};

}  // namespace nocopy::broker
