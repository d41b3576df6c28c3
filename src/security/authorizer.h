// Authorizer: Kafka's ACL decisions over a set of AclBindings, persisted in
// the data directory (security/acl_file.h).
//
// authorize(principal, host, operation, resource type, name):
//  * disabled (the `authorizer` key off): everything is allowed;
//  * a super user (`super_users`) is allowed everything;
//  * the bindings that apply are those of the resource's type whose pattern
//    covers the name (LITERAL equal or `*`, PREFIXED a prefix), whose
//    principal is the caller's or `User:*` and whose host is the caller's
//    or `*`;
//  * a DENY binding for the operation (or ALL) denies -- deny beats allow;
//  * else an ALLOW binding for the operation, ALL, or an operation that
//    implies it allows: DESCRIBE is implied by READ, WRITE, DELETE and
//    ALTER; DESCRIBE_CONFIGS by ALTER_CONFIGS;
//  * else, when no binding at all covers the resource,
//    `allow_everyone_if_no_acl_found` decides (default false: denied).
//
// create()/remove() change the set and rewrite the file before returning
// (fsync'd); when the write fails they throw and the set is unchanged.
//
// Shared (cluster mode, Options::shared): the set is a SharedDocument (the
// same text as the file) instead of the file. The constructor subscribes and
// holds the stored set before it returns (a malformed text throws); every
// later version replaces the set as it arrives (a malformed one is logged
// and ignored: the last good set stays in force). create()/remove() update
// the document, conditioned on the version they read and retried when
// another broker changed it meanwhile, and return once this authorizer
// applies the result.
//
// Thread-safety: every member may be called from any thread (a
// shared_mutex: decisions share it, changes take it exclusively).
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "security/acl.h"
#include "security/shared_document.h"

namespace nocopy::security {

class Authorizer {
 public:
  struct Options {
    bool enabled = false;
    std::vector<std::string> super_users;
    bool allow_everyone_if_no_acl_found = false;
    std::filesystem::path file;  // empty: bindings live in memory only (tests)
    SharedDocument* shared = nullptr;  // set: the bindings live there, not in `file`; outlives the authorizer
  };

  // Loads `file` or the shared document (throws when malformed).
  explicit Authorizer(Options opts);

  bool enabled() const { return opts_.enabled; }
  bool is_super_user(const std::string& principal) const;

  bool authorize(const std::string& principal, const std::string& host, AclOperation op, ResourceType type,
                 const std::string& name) const;

  // Whether some resource of `type` is open to `op` for the principal (an
  // ALLOW binding granting it, not cancelled by a DENY of the wildcard
  // `*`): Kafka's test for idempotent producers without IDEMPOTENT_WRITE
  // on the cluster (any topic WRITE will do).
  bool authorize_any(const std::string& principal, const std::string& host, AclOperation op,
                     ResourceType type) const;

  // Every binding `f` matches, in a stable order.
  std::vector<AclBinding> describe(const AclFilter& f) const;
  // Adds the bindings (already present ones are kept once); persists.
  void create(const std::vector<AclBinding>& bindings);
  // Removes and returns, per filter, the bindings it matches; persists.
  std::vector<std::vector<AclBinding>> remove(const std::vector<AclFilter>& filters);

  std::size_t size() const;

 private:
  void save_locked() const;
  void on_shared(const SharedDocument::Text& text);
  // Applies `edit` to the shared set, returning what the last attempt's edit returned.
  void update_shared(const std::function<bool(std::set<AclBinding>&)>& edit);

  Options opts_;
  mutable std::shared_mutex mu_;
  std::set<AclBinding> acls_;
};

}  // namespace nocopy::security
