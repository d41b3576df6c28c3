// ACLs and SCRAM credentials shared through etcd (cluster/etcd_document.h
// under security::Authorizer and security::ScramStore) against a real etcd:
// a broker starting up holds the stored set before it serves, a change made
// through one broker reaches the others through the watch, concurrent
// changes on two brokers are retried on conflict and none is lost, and a
// malformed value is refused at start and ignored afterwards.
#include "cluster/etcd_document.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "etcd_process.h"
#include "security/acl_file.h"
#include "security/authorizer.h"
#include "security/scram_store.h"

namespace nocopy::cluster {
namespace {

using namespace std::chrono_literals;
using security::AclBinding;
using security::AclFilter;
using security::AclOperation;
using security::Authorizer;
using security::ResourceType;
using test::EtcdProcess;
using test::eventually;

constexpr const char* kAclKey = "/nocopy/acls";

AclBinding read_topic(std::string topic, std::string principal = "User:alice") {
  AclBinding b;
  b.resource_type = ResourceType::topic;
  b.resource_name = std::move(topic);
  b.principal = std::move(principal);
  b.operation = AclOperation::read;
  return b;
}

// One broker's view: its document and the authorizer on it.
struct Broker {
  std::unique_ptr<EtcdDocument> doc;
  std::unique_ptr<Authorizer> authz;

  explicit Broker(const EtcdProcess& etcd, const char* key = kAclKey) {
    doc = std::make_unique<EtcdDocument>(EtcdDocument::Options{{etcd.endpoint()}, key});
    doc->start();
    authz = std::make_unique<Authorizer>(Authorizer::Options{true, {}, false, {}, doc.get()});
  }
  ~Broker() { doc->stop(); }  // before the authorizer goes
  bool may_read(const std::string& topic, const std::string& principal = "User:alice") const {
    return authz->authorize(principal, "10.0.0.1", AclOperation::read, ResourceType::topic, topic);
  }
};

TEST(EtcdAcls, EmptyMeansDenyAndALaterBrokerLoadsTheSetBeforeServing) {
  NEED_ETCD();
  EtcdProcess etcd;
  Broker b1(etcd);
  EXPECT_FALSE(b1.may_read("orders"));  // no key yet: no ACL, denied
  b1.authz->create({read_topic("orders")});
  EXPECT_TRUE(b1.may_read("orders"));  // its own write, at once

  Broker b2(etcd);  // starts after the write: holds it when constructed
  EXPECT_TRUE(b2.may_read("orders"));
  EXPECT_FALSE(b2.may_read("orders", "User:bob"));
  EXPECT_EQ(b2.authz->size(), 1u);
}

TEST(EtcdAcls, ChangesOnOneBrokerReachTheOthersThroughTheWatch) {
  NEED_ETCD();
  EtcdProcess etcd;
  Broker b1(etcd), b2(etcd), b3(etcd);
  b1.authz->create({read_topic("orders")});
  EXPECT_TRUE(eventually([&] { return b2.may_read("orders") && b3.may_read("orders"); }));
  AclFilter f;
  f.resource_type = ResourceType::topic;
  f.resource_name = "orders";
  auto removed = b3.authz->remove({f});
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].size(), 1u);
  EXPECT_FALSE(b3.may_read("orders"));
  EXPECT_TRUE(eventually([&] { return !b1.may_read("orders") && !b2.may_read("orders"); }));
  // Removing what is not there writes nothing.
  const auto rev = b1.doc->revision();
  EXPECT_TRUE(b1.authz->remove({f})[0].empty());
  EXPECT_EQ(b1.doc->revision(), rev);
}

TEST(EtcdAcls, AWriteBetweenReadAndCommitIsRetriedNotLost) {
  NEED_ETCD();
  EtcdProcess etcd;
  Broker b1(etcd);
  EtcdClient other({{etcd.endpoint()}});
  int calls = 0;
  b1.doc->update([&](const security::SharedDocument::Text& current) -> security::SharedDocument::Text {
    auto acls = current ? security::parse_acl_text(*current, "test") : std::set<AclBinding>{};
    if (++calls == 1) {  // another broker commits in between
      auto theirs = acls;
      theirs.insert(read_topic("theirs"));
      other.put(kAclKey, security::acl_text(theirs));
    }
    acls.insert(read_topic("mine"));
    return security::acl_text(acls);
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(b1.doc->conflicts(), 1);
  EXPECT_TRUE(b1.may_read("mine"));
  EXPECT_TRUE(b1.may_read("theirs"));
  auto stored = security::parse_acl_text(other.get(kAclKey).kvs.at(0).value, "etcd");
  EXPECT_EQ(stored.size(), 2u);
}

TEST(EtcdAcls, ConcurrentCreatesOnTwoBrokersAllSurvive) {
  NEED_ETCD();
  EtcdProcess etcd;
  Broker b1(etcd), b2(etcd);
  constexpr int kEach = 15;
  auto creator = [](Broker& b, const std::string& tag) {
    for (int i = 0; i < kEach; ++i) b.authz->create({read_topic(tag + std::to_string(i))});
  };
  std::thread t1(creator, std::ref(b1), "a"), t2(creator, std::ref(b2), "b");
  t1.join();
  t2.join();
  EXPECT_TRUE(eventually([&] { return b1.authz->size() == 2 * kEach && b2.authz->size() == 2 * kEach; }))
      << b1.authz->size() << " " << b2.authz->size();
  EtcdClient c({{etcd.endpoint()}});
  EXPECT_EQ(security::parse_acl_text(c.get(kAclKey).kvs.at(0).value, "etcd").size(), 2u * kEach);
  std::printf("conflicts retried: %lld + %lld\n", static_cast<long long>(b1.doc->conflicts()),
              static_cast<long long>(b2.doc->conflicts()));
}

TEST(EtcdAcls, MalformedValueRefusedAtStartIgnoredAfterwards) {
  NEED_ETCD();
  EtcdProcess etcd;
  Broker b1(etcd);
  b1.authz->create({read_topic("orders")});
  EtcdClient c({{etcd.endpoint()}});
  c.put(kAclKey, "not an acl set");
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(b1.may_read("orders"));  // the last good set stays
  EXPECT_THROW(Broker{etcd}, std::runtime_error);
}

TEST(EtcdAcls, WatchSurvivesAnEtcdRestart) {
  NEED_ETCD();
  EtcdProcess etcd;
  Broker b1(etcd), b2(etcd);
  etcd.stop();
  etcd.start();
  b1.authz->create({read_topic("after")});
  EXPECT_TRUE(eventually([&] { return b2.may_read("after"); }, 20s));
}

TEST(EtcdScram, AUserCreatedOnOneBrokerLogsInOnAnother) {
  NEED_ETCD();
  EtcdProcess etcd;
  const char* key = "/nocopy/scram_credentials";
  EtcdDocument d1({{etcd.endpoint()}, key}), d2({{etcd.endpoint()}, key});
  d1.start();
  d2.start();
  security::ScramStore s1({}, &d1), s2({}, &d2);
  s1.load();
  s2.load();
  s1.upsert("alice", security::credential_from_password(security::ScramMechanism::sha256, "secret", 4096));
  EXPECT_TRUE(s1.verify_password("alice", "secret"));
  EXPECT_TRUE(eventually([&] { return s2.verify_password("alice", "secret"); }));
  EXPECT_FALSE(s2.verify_password("alice", "wrong"));
  EtcdClient c({{etcd.endpoint()}});
  const auto stored = c.get(key).kvs.at(0).value;
  EXPECT_EQ(stored.find("secret"), std::string::npos);  // salted keys only
  // A third broker starting now has the user at once.
  EtcdDocument d3({{etcd.endpoint()}, key});
  d3.start();
  security::ScramStore s3({}, &d3);
  s3.load();
  EXPECT_TRUE(s3.has_user("alice"));
  EXPECT_TRUE(s2.remove("alice", security::ScramMechanism::sha256));
  EXPECT_FALSE(s2.has_user("alice"));
  EXPECT_TRUE(eventually([&] { return !s1.has_user("alice") && !s3.has_user("alice"); }));
  d1.stop();
  d2.stop();
  d3.stop();
}

}  // namespace
}  // namespace nocopy::cluster
