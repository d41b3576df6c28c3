// Kafka's ACL model: an AclBinding says that a principal (`User:alice`, or
// `User:*` for everyone) from a host (an address, or `*`) is ALLOWed or
// DENYed an operation on resources of one type (TOPIC, GROUP, CLUSTER,
// TRANSACTIONAL_ID) named either exactly (LITERAL; the name `*` matches every
// resource of the type) or by a name prefix (PREFIXED). An AclFilter selects
// bindings for DescribeAcls and DeleteAcls: unset strings and the ANY values
// match everything; the pattern type MATCH selects every binding that applies
// to the filter's (literal) name -- itself, the `*` binding and the prefixes.
//
// The enum values are Kafka's wire numbers (DescribeAcls, CreateAcls and
// DeleteAcls carry them as int8). Pure values; no thread-safety concerns.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nocopy::security {

enum class ResourceType : std::int8_t {
  unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactional_id = 5, delegation_token = 6, user = 7
};
enum class PatternType : std::int8_t { unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4 };
enum class AclOperation : std::int8_t {
  unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, remove = 6, alter = 7, describe = 8,
  cluster_action = 9, describe_configs = 10, alter_configs = 11, idempotent_write = 12, create_tokens = 13,
  describe_tokens = 14
};
enum class AclPermission : std::int8_t { unknown = 0, any = 1, deny = 2, allow = 3 };

// Kafka's upper-case names ("TOPIC", "PREFIXED", "IDEMPOTENT_WRITE",
// "ALLOW"); parse_*() return `unknown` for anything else.
const char* to_string(ResourceType t);
const char* to_string(PatternType t);
const char* to_string(AclOperation o);
const char* to_string(AclPermission p);
ResourceType parse_resource_type(std::string_view s);
PatternType parse_pattern_type(std::string_view s);
AclOperation parse_operation(std::string_view s);
AclPermission parse_permission(std::string_view s);

// The one cluster resource's name.
inline constexpr std::string_view kClusterResource = "kafka-cluster";
inline constexpr std::string_view kWildcard = "*";
inline constexpr std::string_view kWildcardPrincipal = "User:*";

struct AclBinding {
  ResourceType resource_type = ResourceType::topic;
  std::string resource_name;
  PatternType pattern_type = PatternType::literal;
  std::string principal;
  std::string host = "*";
  AclOperation operation = AclOperation::read;
  AclPermission permission = AclPermission::allow;

  auto operator<=>(const AclBinding&) const = default;
};

// Why `b` cannot be stored (Kafka's CreateAcls checks), or nullopt: the
// enums must be concrete (not UNKNOWN/ANY/MATCH), the resource type one
// nocopy authorizes, the operation valid for it, the name non-empty (the
// cluster's is `kafka-cluster`), the principal `Type:name`, the host
// non-empty.
std::optional<std::string> invalid_binding(const AclBinding& b);

struct AclFilter {
  ResourceType resource_type = ResourceType::any;
  std::optional<std::string> resource_name;  // nullopt: any
  PatternType pattern_type = PatternType::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::any;
  AclPermission permission = AclPermission::any;

  bool matches(const AclBinding& b) const;
};

// Why `f` is not a usable filter (an UNKNOWN enum), or nullopt.
std::optional<std::string> invalid_filter(const AclFilter& f);

}  // namespace nocopy::security
