// The authorizer's decisions (Kafka's rules: literal, wildcard and prefixed
// patterns, wildcard principal and host, deny beats allow, implied
// operations, super users, no ACL = deny unless configured), DescribeAcls /
// DeleteAcls filters, and the ACL file (round trip, atomic rewrite, corrupt
// files refused).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "security/acl.h"
#include "security/acl_file.h"
#include "security/authorizer.h"

namespace nocopy::security {
namespace {

using O = AclOperation;
using R = ResourceType;

AclBinding acl(R type, std::string name, O op, AclPermission perm = AclPermission::allow,
               std::string principal = "User:alice", PatternType pattern = PatternType::literal,
               std::string host = "*") {
  AclBinding b;
  b.resource_type = type;
  b.resource_name = std::move(name);
  b.pattern_type = pattern;
  b.principal = std::move(principal);
  b.host = std::move(host);
  b.operation = op;
  b.permission = perm;
  return b;
}

std::unique_ptr<Authorizer> make(std::vector<AclBinding> acls, std::vector<std::string> supers = {},
                                 bool open_if_none = false) {
  auto a = std::make_unique<Authorizer>(Authorizer::Options{true, std::move(supers), open_if_none, {}});
  a->create(acls);
  return a;
}

constexpr const char* kHost = "10.0.0.1";

TEST(Authorizer, DisabledAllowsEverything) {
  Authorizer a({false, {}, false, {}});
  EXPECT_TRUE(a.authorize("User:bob", kHost, O::write, R::topic, "t"));
}

TEST(Authorizer, NoAclMeansDenyUnlessConfigured) {
  auto a = make({});
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::read, R::topic, "t"));
  auto open = make({acl(R::topic, "other", O::read)}, {}, true);
  EXPECT_TRUE(open->authorize("User:alice", kHost, O::read, R::topic, "t"));
  // A resource some ACL names is closed to everyone else even then.
  EXPECT_FALSE(open->authorize("User:bob", kHost, O::read, R::topic, "other"));
}

TEST(Authorizer, LiteralWildcardAndPrefixedPatterns) {
  auto a = make({acl(R::topic, "orders", O::read), acl(R::topic, "*", O::write, AclPermission::allow, "User:bob"),
                 acl(R::topic, "logs-", O::read, AclPermission::allow, "User:carol", PatternType::prefixed)});
  EXPECT_TRUE(a->authorize("User:alice", kHost, O::read, R::topic, "orders"));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::read, R::topic, "orders2"));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::write, R::topic, "orders"));
  EXPECT_TRUE(a->authorize("User:bob", kHost, O::write, R::topic, "anything"));
  EXPECT_TRUE(a->authorize("User:carol", kHost, O::read, R::topic, "logs-app"));
  EXPECT_FALSE(a->authorize("User:carol", kHost, O::read, R::topic, "log"));
  // Same name, other resource type: no match.
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::read, R::group, "orders"));
}

TEST(Authorizer, WildcardPrincipalAndHost) {
  auto a = make({acl(R::group, "g", O::read, AclPermission::allow, "User:*"),
                 acl(R::topic, "t", O::read, AclPermission::allow, "User:alice", PatternType::literal, "10.0.0.2")});
  EXPECT_TRUE(a->authorize("User:anyone", kHost, O::read, R::group, "g"));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::read, R::topic, "t"));
  EXPECT_TRUE(a->authorize("User:alice", "10.0.0.2", O::read, R::topic, "t"));
}

TEST(Authorizer, DenyBeatsAllow) {
  auto a = make({acl(R::topic, "*", O::all), acl(R::topic, "secret", O::read, AclPermission::deny),
                 acl(R::topic, "sec", O::all, AclPermission::deny, "User:*", PatternType::prefixed, kHost)});
  EXPECT_TRUE(a->authorize("User:alice", "10.0.0.9", O::write, R::topic, "public"));
  EXPECT_FALSE(a->authorize("User:alice", "10.0.0.9", O::read, R::topic, "secret"));
  EXPECT_TRUE(a->authorize("User:alice", "10.0.0.9", O::write, R::topic, "secret"));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::write, R::topic, "second"));
}

TEST(Authorizer, ImpliedOperations) {
  auto a = make({acl(R::topic, "r", O::read), acl(R::topic, "w", O::write), acl(R::topic, "d", O::remove),
                 acl(R::topic, "a", O::alter), acl(R::topic, "c", O::alter_configs), acl(R::topic, "x", O::create)});
  for (const char* t : {"r", "w", "d", "a"}) EXPECT_TRUE(a->authorize("User:alice", kHost, O::describe, R::topic, t));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::describe, R::topic, "x"));
  EXPECT_TRUE(a->authorize("User:alice", kHost, O::describe_configs, R::topic, "c"));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::describe_configs, R::topic, "r"));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::write, R::topic, "r"));
  // A DENY of READ does not deny DESCRIBE (Kafka implies only allows).
  auto b = make({acl(R::topic, "t", O::describe), acl(R::topic, "t", O::read, AclPermission::deny)});
  EXPECT_TRUE(b->authorize("User:alice", kHost, O::describe, R::topic, "t"));
}

TEST(Authorizer, SuperUsersBypassEverything) {
  auto a = make({acl(R::topic, "t", O::all, AclPermission::deny, "User:admin")}, {"User:admin"});
  EXPECT_TRUE(a->authorize("User:admin", kHost, O::read, R::topic, "t"));
  EXPECT_TRUE(a->authorize("User:admin", kHost, O::alter, R::cluster, "kafka-cluster"));
  EXPECT_FALSE(a->authorize("User:alice", kHost, O::read, R::topic, "t"));
}

TEST(AclFilter, MatchFindsEveryBindingThatApplies) {
  auto a = make({acl(R::topic, "orders", O::read), acl(R::topic, "*", O::write),
                 acl(R::topic, "ord", O::read, AclPermission::allow, "User:x", PatternType::prefixed),
                 acl(R::topic, "other", O::read), acl(R::group, "orders", O::read)});
  AclFilter f;
  f.resource_type = R::topic;
  f.resource_name = "orders";
  f.pattern_type = PatternType::match;
  EXPECT_EQ(a->describe(f).size(), 3u);
  f.pattern_type = PatternType::literal;
  EXPECT_EQ(a->describe(f).size(), 1u);
  f.pattern_type = PatternType::any;
  f.resource_type = R::any;
  EXPECT_EQ(a->describe(f).size(), 2u);
  EXPECT_EQ(a->describe(AclFilter{}).size(), 5u);
  AclFilter by_principal;
  by_principal.principal = "User:x";
  EXPECT_EQ(a->describe(by_principal).size(), 1u);
}

TEST(Authorizer, RemoveReportsPerFilterAndDeletes) {
  auto a = make({acl(R::topic, "t", O::read), acl(R::topic, "t", O::write), acl(R::group, "g", O::read)});
  AclFilter topics;
  topics.resource_type = R::topic;
  AclFilter reads;
  reads.operation = O::read;
  auto removed = a->remove({topics, reads});
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0].size(), 2u);
  EXPECT_EQ(removed[1].size(), 2u);  // t READ (also matched by the first) and g READ
  EXPECT_EQ(a->size(), 0u);
}

TEST(Acl, InvalidBindingsAreNamed) {
  EXPECT_FALSE(invalid_binding(acl(R::topic, "t", O::read)));
  EXPECT_TRUE(invalid_binding(acl(R::any, "t", O::read)));
  EXPECT_TRUE(invalid_binding(acl(R::topic, "", O::read)));
  EXPECT_TRUE(invalid_binding(acl(R::topic, "t", O::cluster_action)));
  EXPECT_TRUE(invalid_binding(acl(R::topic, "t", O::read, AclPermission::any)));
  EXPECT_TRUE(invalid_binding(acl(R::topic, "t", O::read, AclPermission::allow, "alice")));
  EXPECT_TRUE(invalid_binding(acl(R::topic, "t", O::read, AclPermission::allow, "User:a", PatternType::match)));
  EXPECT_TRUE(invalid_binding(acl(R::cluster, "other", O::alter)));
  EXPECT_FALSE(invalid_binding(acl(R::cluster, "kafka-cluster", O::alter)));
  EXPECT_EQ(parse_operation("IDEMPOTENT_WRITE"), O::idempotent_write);
  EXPECT_STREQ(to_string(O::remove), "DELETE");
}

class AclFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nocopy_acl_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(AclFileTest, SurvivesRestart) {
  const auto file = dir_ / "acls";
  {
    Authorizer a({true, {}, false, file});
    a.create({acl(R::topic, "t\tab\nnewline", O::read, AclPermission::deny, "User:CN=x,O=y"),
              acl(R::group, "g-", O::read, AclPermission::allow, "User:*", PatternType::prefixed, "10.1.1.1"),
              acl(R::transactional_id, "tx", O::write), acl(R::cluster, "kafka-cluster", O::idempotent_write)});
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "acls.tmp"));
  Authorizer b({true, {}, false, file});
  EXPECT_EQ(b.size(), 4u);
  EXPECT_TRUE(b.authorize("User:z", "10.1.1.1", O::read, R::group, "g-1"));
  EXPECT_TRUE(b.authorize("User:alice", kHost, O::idempotent_write, R::cluster, "kafka-cluster"));
  AclFilter f;
  f.resource_name = "t\tab\nnewline";
  ASSERT_EQ(b.describe(f).size(), 1u);
  EXPECT_EQ(b.describe(f)[0].principal, "User:CN=x,O=y");
  b.remove({AclFilter{}});
  Authorizer c({true, {}, false, file});
  EXPECT_EQ(c.size(), 0u);
}

TEST_F(AclFileTest, MissingFileIsEmptyCorruptFileRefused) {
  EXPECT_TRUE(load_acl_file(dir_ / "none").empty());
  const auto file = dir_ / "acls";
  save_acl_file(file, {acl(R::topic, "t", O::read)});
  {
    std::ofstream out(file, std::ios::app);
    out << "TOPIC\tLITERAL\tREAD\n";
  }
  EXPECT_THROW(load_acl_file(file), std::runtime_error);
  {
    std::ofstream out(file, std::ios::trunc);
    out << "something else\n";
  }
  EXPECT_THROW(load_acl_file(file), std::runtime_error);
  {
    std::ofstream out(file, std::ios::trunc);
    out << "# nocopy acls v1\nTOPIC\tMATCH\tREAD\tALLOW\tdA==\tVXNlcjph\tKg==\n";
  }
  EXPECT_THROW(load_acl_file(file), std::runtime_error);
}

}  // namespace
}  // namespace nocopy::security
