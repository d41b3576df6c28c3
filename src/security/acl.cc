#include "security/acl.h"

#include <array>
#include <utility>

namespace nocopy::security {

namespace {

template <class E, std::size_t N>
const char* name_of(E v, const std::array<std::pair<E, const char*>, N>& names) {
  for (const auto& [e, n] : names)
    if (e == v) return n;
  return "UNKNOWN";
}

template <class E, std::size_t N>
E parse(std::string_view s, const std::array<std::pair<E, const char*>, N>& names) {
  for (const auto& [e, n] : names)
    if (s == n) return e;
  return E::unknown;
}

constexpr std::array<std::pair<ResourceType, const char*>, 8> kResourceTypes{{
    {ResourceType::unknown, "UNKNOWN"},
    {ResourceType::any, "ANY"},
    {ResourceType::topic, "TOPIC"},
    {ResourceType::group, "GROUP"},
    {ResourceType::cluster, "CLUSTER"},
    {ResourceType::transactional_id, "TRANSACTIONAL_ID"},
    {ResourceType::delegation_token, "DELEGATION_TOKEN"},
    {ResourceType::user, "USER"},
}};
constexpr std::array<std::pair<PatternType, const char*>, 5> kPatternTypes{{
    {PatternType::unknown, "UNKNOWN"},
    {PatternType::any, "ANY"},
    {PatternType::match, "MATCH"},
    {PatternType::literal, "LITERAL"},
    {PatternType::prefixed, "PREFIXED"},
}};
constexpr std::array<std::pair<AclOperation, const char*>, 15> kOperations{{
    {AclOperation::unknown, "UNKNOWN"},
    {AclOperation::any, "ANY"},
    {AclOperation::all, "ALL"},
    {AclOperation::read, "READ"},
    {AclOperation::write, "WRITE"},
    {AclOperation::create, "CREATE"},
    {AclOperation::remove, "DELETE"},
    {AclOperation::alter, "ALTER"},
    {AclOperation::describe, "DESCRIBE"},
    {AclOperation::cluster_action, "CLUSTER_ACTION"},
    {AclOperation::describe_configs, "DESCRIBE_CONFIGS"},
    {AclOperation::alter_configs, "ALTER_CONFIGS"},
    {AclOperation::idempotent_write, "IDEMPOTENT_WRITE"},
    {AclOperation::create_tokens, "CREATE_TOKENS"},
    {AclOperation::describe_tokens, "DESCRIBE_TOKENS"},
}};
constexpr std::array<std::pair<AclPermission, const char*>, 4> kPermissions{{
    {AclPermission::unknown, "UNKNOWN"},
    {AclPermission::any, "ANY"},
    {AclPermission::deny, "DENY"},
    {AclPermission::allow, "ALLOW"},
}};

// The operations Kafka accepts on each resource type (ALL everywhere).
bool valid_operation(ResourceType t, AclOperation o) {
  using O = AclOperation;
  if (o == O::all) return true;
  switch (t) {
    case ResourceType::topic:
      return o == O::read || o == O::write || o == O::create || o == O::remove || o == O::alter ||
             o == O::describe || o == O::describe_configs || o == O::alter_configs;
    case ResourceType::group: return o == O::read || o == O::remove || o == O::describe;
    case ResourceType::cluster:
      return o == O::create || o == O::alter || o == O::describe || o == O::cluster_action ||
             o == O::describe_configs || o == O::alter_configs || o == O::idempotent_write;
    case ResourceType::transactional_id: return o == O::write || o == O::describe;
    default: return false;
  }
}

}  // namespace

const char* to_string(ResourceType t) { return name_of(t, kResourceTypes); }
const char* to_string(PatternType t) { return name_of(t, kPatternTypes); }
const char* to_string(AclOperation o) { return name_of(o, kOperations); }
const char* to_string(AclPermission p) { return name_of(p, kPermissions); }
ResourceType parse_resource_type(std::string_view s) { return parse(s, kResourceTypes); }
PatternType parse_pattern_type(std::string_view s) { return parse(s, kPatternTypes); }
AclOperation parse_operation(std::string_view s) { return parse(s, kOperations); }
AclPermission parse_permission(std::string_view s) { return parse(s, kPermissions); }

std::optional<std::string> invalid_binding(const AclBinding& b) {
  const auto rt = b.resource_type;
  if (rt != ResourceType::topic && rt != ResourceType::group && rt != ResourceType::cluster &&
      rt != ResourceType::transactional_id)
    return std::string("resource type ") + to_string(rt) + " cannot carry ACLs here";
  if (b.pattern_type != PatternType::literal && b.pattern_type != PatternType::prefixed)
    return std::string("pattern type ") + to_string(b.pattern_type) + " is not LITERAL or PREFIXED";
  if (b.resource_name.empty()) return std::string("the resource name is empty");
  if (rt == ResourceType::cluster && (b.resource_name != kClusterResource || b.pattern_type != PatternType::literal))
    return std::string("the cluster resource is the LITERAL name kafka-cluster");
  if (b.pattern_type == PatternType::prefixed && b.resource_name == kWildcard)
    return std::string("a PREFIXED pattern cannot be the wildcard *");
  if (b.permission != AclPermission::allow && b.permission != AclPermission::deny)
    return std::string("permission ") + to_string(b.permission) + " is not ALLOW or DENY";
  if (!valid_operation(rt, b.operation))
    return std::string("operation ") + to_string(b.operation) + " does not apply to " + to_string(rt);
  const auto colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size())
    return "principal '" + b.principal + "' is not Type:name (e.g. User:alice)";
  if (b.host.empty()) return std::string("the host is empty (use * for every host)");
  return std::nullopt;
}

std::optional<std::string> invalid_filter(const AclFilter& f) {
  if (f.resource_type == ResourceType::unknown) return std::string("resource type UNKNOWN");
  if (f.pattern_type == PatternType::unknown) return std::string("pattern type UNKNOWN");
  if (f.operation == AclOperation::unknown) return std::string("operation UNKNOWN");
  if (f.permission == AclPermission::unknown) return std::string("permission UNKNOWN");
  return std::nullopt;
}

bool AclFilter::matches(const AclBinding& b) const {
  if (resource_type != ResourceType::any && resource_type != b.resource_type) return false;
  if (pattern_type != PatternType::any && pattern_type != PatternType::match && pattern_type != b.pattern_type)
    return false;
  if (resource_name) {
    if (pattern_type == PatternType::match) {
      const bool hit = b.pattern_type == PatternType::literal
                           ? (b.resource_name == *resource_name || b.resource_name == kWildcard)
                           : resource_name->starts_with(b.resource_name);
      if (!hit) return false;
    } else if (*resource_name != b.resource_name) {
      return false;
    }
  }
  if (principal && *principal != b.principal) return false;
  if (host && *host != b.host) return false;
  if (operation != AclOperation::any && operation != b.operation) return false;
  if (permission != AclPermission::any && permission != b.permission) return false;
  return true;
}

}  // namespace nocopy::security
