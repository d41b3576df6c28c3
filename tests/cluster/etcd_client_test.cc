#include "cluster/etcd_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cluster/base64.h"
#include "cluster/etcd_watch.h"
#include "etcd_process.h"

namespace nocopy::cluster {
namespace {

using namespace std::chrono_literals;
using test::EtcdProcess;

TEST(Base64, RoundTripsEveryLength) {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s) << i;
    s.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("/a/b"), "L2EvYg==");
  EXPECT_THROW(base64_decode("abc"), std::invalid_argument);
  EXPECT_THROW(base64_decode("!!!!"), std::invalid_argument);
}

TEST(EtcdEndpoints, Parse) {
  EXPECT_EQ(EtcdClient::parse_endpoints("etcd://10.0.0.1:2379,10.0.0.2:2379"),
            (std::vector<std::string>{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}));
  EXPECT_EQ(EtcdClient::parse_endpoints("127.0.0.1:1"), (std::vector<std::string>{"http://127.0.0.1:1"}));
  EXPECT_THROW(EtcdClient::parse_endpoints("etcd://"), std::invalid_argument);
  EXPECT_THROW(EtcdClient::parse_endpoints("etcd://host"), std::invalid_argument);
  EXPECT_THROW(EtcdClient::parse_endpoints("etcd://h:1,"), std::invalid_argument);
  EXPECT_THROW(EtcdClient::parse_endpoints("etcd://h:x"), std::invalid_argument);
  EXPECT_EQ(EtcdClient::prefix_end("/a/"), "/a0");
}

TEST(EtcdClient, PutGetDeletePrefix) {
  NEED_ETCD();
  EtcdProcess etcd;
  EtcdClient c({{etcd.endpoint()}});
  auto r1 = c.put("/t/a", std::string("v\0a", 3));
  auto r2 = c.put("/t/b", "vb");
  EXPECT_GT(r2, r1);
  c.put("/u/c", "vc");
  auto one = c.get("/t/a");
  ASSERT_EQ(one.kvs.size(), 1u);
  EXPECT_EQ(one.kvs[0].value, std::string("v\0a", 3));
  EXPECT_EQ(one.kvs[0].mod_revision, r1);
  EXPECT_EQ(one.kvs[0].create_revision, r1);
  EXPECT_GE(one.revision, r2);
  auto all = c.get_prefix("/t/");
  ASSERT_EQ(all.kvs.size(), 2u);
  EXPECT_EQ(all.kvs[1].key, "/t/b");
  EXPECT_TRUE(c.get("/missing").kvs.empty());
  EXPECT_EQ(c.del("/t/", true), 2);
  EXPECT_TRUE(c.get_prefix("/t/").kvs.empty());
  EXPECT_EQ(c.get("/u/c").kvs.size(), 1u);
}

TEST(EtcdClient, TxnComparesRevisions) {
  NEED_ETCD();
  EtcdProcess etcd;
  EtcdClient c({{etcd.endpoint()}});
  // Create-if-absent: the second attempt fails and reads the winner.
  auto t1 = c.txn({Compare::absent("/k")}, {Op::put("/k", "first")}, {Op::get("/k")});
  EXPECT_TRUE(t1.succeeded);
  auto t2 = c.txn({Compare::absent("/k")}, {Op::put("/k", "second")}, {Op::get("/k")});
  EXPECT_FALSE(t2.succeeded);
  ASSERT_EQ(t2.gets.size(), 1u);
  ASSERT_EQ(t2.gets[0].size(), 1u);
  EXPECT_EQ(t2.gets[0][0].value, "first");
  // A write conditioned on a stale mod_revision fails.
  const auto rev = t2.gets[0][0].mod_revision;
  EXPECT_TRUE(c.txn({Compare::mod_revision("/k", rev)}, {Op::put("/k", "update")}).succeeded);
  EXPECT_FALSE(c.txn({Compare::mod_revision("/k", rev)}, {Op::put("/k", "stale")}).succeeded);
  EXPECT_EQ(c.get("/k").kvs.at(0).value, "update");
  // Several ops in one branch.
  auto t3 = c.txn({}, {Op::put("/x", "1"), Op::del("/k"), Op::get("/x")});
  EXPECT_TRUE(t3.succeeded);
  ASSERT_EQ(t3.gets.size(), 1u);
  EXPECT_EQ(t3.gets[0].at(0).value, "1");
  EXPECT_TRUE(c.get("/k").kvs.empty());
}

TEST(EtcdClient, LeaseExpiresItsKeys) {
  NEED_ETCD();
  EtcdProcess etcd;
  EtcdClient c({{etcd.endpoint()}});
  auto lease = c.lease_grant(2);
  c.put("/leased", "x", lease);
  EXPECT_GT(c.lease_keepalive(lease), 0);
  EXPECT_EQ(c.get("/leased").kvs.at(0).lease, lease);
  c.lease_revoke(lease);
  EXPECT_TRUE(c.get("/leased").kvs.empty());
  EXPECT_EQ(c.lease_keepalive(lease), 0);  // gone
  auto l2 = c.lease_grant(2);
  c.put("/leased2", "y", l2);
  auto deadline = std::chrono::steady_clock::now() + 8s;
  while (!c.get("/leased2").kvs.empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(c.get("/leased2").kvs.empty()) << "an unrenewed lease's key is deleted";
  EXPECT_THROW(c.put("/z", "z", l2), EtcdError);  // lease not found
}

TEST(EtcdClient, FailsOverToTheNextEndpointAndNamesEveryFailure) {
  NEED_ETCD();
  EtcdProcess etcd;
  // 127.0.0.1:1 refuses connections.
  EtcdClient c({{"http://127.0.0.1:1", etcd.endpoint()}, 2000ms, 500ms});
  c.put("/f", "1");
  EXPECT_EQ(c.get("/f").kvs.at(0).value, "1");
  etcd.stop();
  try {
    c.get("/f");
    FAIL() << "expected EtcdError";
  } catch (const EtcdError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("no endpoint answered"), std::string::npos) << what;
    EXPECT_NE(what.find("127.0.0.1:1"), std::string::npos) << what;
    EXPECT_NE(what.find(etcd.endpoint()), std::string::npos) << what;
  }
  etcd.start();
  EXPECT_EQ(c.get("/f").kvs.at(0).value, "1");
}

TEST(EtcdWatch, DeliversPutsAndDeletesThenEndsWhenEtcdStops) {
  NEED_ETCD();
  EtcdProcess etcd;
  EtcdClient c({{etcd.endpoint()}});
  auto start = c.put("/w/before", "0");
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WatchEvent> seen;
  std::string end_reason;
  bool ended = false;
  EtcdWatch w(
      etcd.endpoint(), "/w/", start,
      [&](std::int64_t, const std::vector<WatchEvent>& evs) {
        std::lock_guard lk(mu);
        seen.insert(seen.end(), evs.begin(), evs.end());
        cv.notify_all();
      },
      [&](const std::string& reason) {
        std::lock_guard lk(mu);
        end_reason = reason;
        ended = true;
        cv.notify_all();
      });
  c.put("/w/a", "1");
  c.put("/other", "x");
  c.del("/w/before");
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, 10s, [&] { return seen.size() >= 3; }));
    EXPECT_EQ(seen[0].kv.key, "/w/before");
    EXPECT_EQ(seen[1].kv.key, "/w/a");
    EXPECT_EQ(seen[1].kv.value, "1");
    EXPECT_EQ(seen[1].type, WatchEvent::Type::put);
    EXPECT_EQ(seen[2].kv.key, "/w/before");
    EXPECT_EQ(seen[2].type, WatchEvent::Type::del);
    EXPECT_EQ(seen.size(), 3u) << "keys outside the prefix are not watched";
  }
  etcd.stop();
  std::unique_lock lk(mu);
  ASSERT_TRUE(cv.wait_for(lk, 15s, [&] { return ended; }));
  EXPECT_FALSE(end_reason.empty());
}

TEST(EtcdWatch, StopEndsPromptlyWithAnEmptyReason) {
  NEED_ETCD();
  EtcdProcess etcd;
  std::atomic<bool> ended{false};
  std::string reason = "unset";
  auto w = std::make_unique<EtcdWatch>(
      etcd.endpoint(), "/s/", 1, [](std::int64_t, const std::vector<WatchEvent>&) {},
      [&](const std::string& r) {
        reason = r;
        ended = true;
      });
  std::this_thread::sleep_for(200ms);
  auto t0 = std::chrono::steady_clock::now();
  w->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(ended);
  EXPECT_EQ(reason, "");
}

TEST(EtcdWatch, ParseLine) {
  auto p = EtcdWatch::parse_line(
      R"({"result":{"header":{"revision":"7"},"events":[{"type":"DELETE","kv":{"key":"L2E=","mod_revision":"7"}}]}})");
  EXPECT_EQ(p.revision, 7);
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].type, WatchEvent::Type::del);
  EXPECT_EQ(p.events[0].kv.key, "/a");
  EXPECT_FALSE(EtcdWatch::parse_line("nope").error.empty());
  EXPECT_FALSE(EtcdWatch::parse_line(R"({"result":{"canceled":true,"compact_revision":"3"}})").error.empty());
  EXPECT_FALSE(EtcdWatch::parse_line(R"({"error":{"message":"x"}})").error.empty());
}

}  // namespace
}  // namespace nocopy::cluster
