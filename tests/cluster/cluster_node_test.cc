#include "cluster/cluster_node.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "etcd_process.h"
#include "cluster/etcd_client.h"
#include "kafka/error_code.h"
#include "kafka/uuid.h"

namespace nocopy::cluster {
namespace {

using namespace std::chrono_literals;
using test::EtcdProcess;
using test::eventually;

// Records what the cluster layer tells a broker.
struct Recorder : replication::ReplicaControl, TopicSink {
  std::mutex mu;
  std::map<std::pair<std::string, std::int32_t>, PartitionState> applied;
  std::vector<std::int32_t> live;
  std::map<std::string, std::int32_t> topics;
  std::map<std::string, kafka::Uuid> topic_ids;
  void apply(const std::string& t, std::int32_t p, const PartitionState& s) override {
    std::lock_guard lk(mu);
    applied[{t, p}] = s;
  }
  void removed(const std::string& t, std::int32_t p) override {
    std::lock_guard lk(mu);
    applied.erase({t, p});
  }
  void brokers(const std::vector<BrokerEndpoint>& l) override {
    std::lock_guard lk(mu);
    live.clear();
    for (auto& b : l) live.push_back(b.node_id);
  }
  void topic_changed(const std::string& n, std::int32_t parts, const std::map<std::string, std::string>&,
                     const kafka::Uuid& id) override {
    std::lock_guard lk(mu);
    topics[n] = parts;
    topic_ids[n] = id;
  }
  void topic_deleted(const std::string& n) override {
    std::lock_guard lk(mu);
    topics.erase(n);
  }
};

struct Node {
  Recorder rec;
  std::unique_ptr<ClusterNode> node;
  Node(const EtcdProcess& etcd, std::int32_t id) {
    ClusterOptions o;
    o.endpoints = {etcd.endpoint()};
    o.self = {id, "127.0.0.1", static_cast<std::uint16_t>(9000 + id), ""};
    o.session_timeout = 2000ms;
    node = std::make_unique<ClusterNode>(o, &rec, &rec);
    node->start();
  }
};

TEST(ClusterNode, RegistersElectsOneControllerAndCreatesTopics) {
  NEED_ETCD();
  EtcdProcess etcd;
  Node a(etcd, 1), b(etcd, 2), c(etcd, 3);
  ASSERT_TRUE(eventually([&] { return a.node->snapshot()->brokers.size() == 3; }));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(c.rec.mu);
    return c.rec.live == std::vector<std::int32_t>{1, 2, 3};
  }));
  EXPECT_TRUE(a.node->is_controller()) << "the first broker to start campaigns first";
  EXPECT_FALSE(b.node->is_controller());
  EXPECT_EQ(c.node->snapshot()->controller_id, 1);

  auto r = b.node->create_topic("t", 3, 3, {}, {{"retention.ms", "5000"}}, false);
  ASSERT_EQ(r.error_code, 0) << r.message;
  auto snap = b.node->snapshot();
  ASSERT_TRUE(snap->topics.contains("t")) << "create_topic waits for its own write to come back";
  EXPECT_EQ(b.node->create_topic("t", 3, 3, {}, {}, false).error_code,
            static_cast<std::int16_t>(kafka::ErrorCode::topic_already_exists));
  EXPECT_EQ(b.node->create_topic("u", 1, 4, {}, {}, false).error_code,
            static_cast<std::int16_t>(kafka::ErrorCode::invalid_replication_factor));
  EXPECT_EQ(b.node->create_topic("u", 1, -1, {{1, 9}}, {}, false).error_code,
            static_cast<std::int16_t>(kafka::ErrorCode::invalid_replica_assignment));
  const kafka::Uuid id = snap->topics.at("t").topic_id;
  EXPECT_FALSE(kafka::is_zero(id)) << "the topic's record carries its id";
  for (Node* n : {&a, &b, &c}) {
    ASSERT_TRUE(eventually([&] {
      std::lock_guard lk(n->rec.mu);
      return n->rec.applied.size() == 3 && n->rec.topics["t"] == 3;
    }));
    std::lock_guard lk(n->rec.mu);
    EXPECT_EQ(n->rec.topic_ids["t"], id) << "every broker is told the same id";
  }
  // Growing the topic keeps its id.
  ASSERT_EQ(c.node->add_partitions("t", 4, false).error_code, 0);
  EXPECT_EQ(c.node->snapshot()->topics.at("t").topic_id, id);
  int leading = 0;
  for (std::int32_t p = 0; p < 3; ++p) {
    const auto& s = snap->partition("t", p)->state;
    EXPECT_EQ(s.replicas.size(), 3u);
    EXPECT_EQ(s.isr, s.replicas);
    EXPECT_EQ(s.leader, s.replicas[0]);
    leading += a.node->is_leader("t", p);
  }
  EXPECT_EQ(leading, 1) << "round-robin: one leader per broker";

  ASSERT_EQ(a.node->delete_topic("t").error_code, 0);
  EXPECT_EQ(a.node->delete_topic("t").error_code, static_cast<std::int16_t>(kafka::ErrorCode::unknown_topic_or_partition));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(c.rec.mu);
    return c.rec.applied.empty() && c.rec.topics.empty();
  }));
}

// A topic record written before topic ids were kept (no "topic_id") gets
// one from the controller, and every broker is told it.
TEST(ClusterNode, TheControllerGivesATopicWithoutAnIdOne) {
  NEED_ETCD();
  EtcdProcess etcd;
  {
    EtcdClient raw({{etcd.endpoint()}});
    Keys k;
    raw.put(k.topic("old"), R"({"partitions":1,"configs":{}})");
    raw.put(k.partition("old", 0), to_json(PartitionState{1, 0, 0, {1, 2}, {1, 2}}));
  }
  Node a(etcd, 1), b(etcd, 2);
  kafka::Uuid id{};
  ASSERT_TRUE(eventually([&] {
    auto s = b.node->snapshot();
    auto it = s->topics.find("old");
    if (it == s->topics.end() || kafka::is_zero(it->second.topic_id)) return false;
    id = it->second.topic_id;
    return true;
  }, 15s));
  for (Node* n : {&a, &b}) {
    ASSERT_TRUE(eventually([&] {
      std::lock_guard lk(n->rec.mu);
      return n->rec.topic_ids["old"] == id;
    }));
  }
  EXPECT_EQ(a.node->snapshot()->topics.at("old").partition_count, 1) << "the rest of the record is kept";
}

TEST(ClusterNode, PreferredElectionMovesALeaderBackAndIsRefusedWhenNotNeeded) {
  NEED_ETCD();
  EtcdProcess etcd;
  Node a(etcd, 1), b(etcd, 2), c(etcd, 3);
  ASSERT_TRUE(eventually([&] { return a.node->snapshot()->brokers.size() == 3; }));
  ASSERT_EQ(b.node->create_topic("e", 1, -1, {{2, 3, 1}}, {}, false).error_code, 0);
  ASSERT_TRUE(eventually([&] { return c.node->snapshot()->partition("e", 0) != nullptr; }));
  const auto preferred = ElectionType::preferred;
  EXPECT_EQ(c.node->elect_leader("e", 0, preferred).error_code,
            static_cast<std::int16_t>(kafka::ErrorCode::election_not_needed));
  EXPECT_EQ(c.node->elect_leader("e", 5, preferred).error_code,
            static_cast<std::int16_t>(kafka::ErrorCode::unknown_topic_or_partition));
  // Broker 2 leaves: leadership moves to 3; when 2 is back (and, as the
  // replication layer would once it caught up, in the ISR again), a
  // preferred election hands it back.
  b.node->stop();
  ASSERT_TRUE(eventually([&] { return c.node->snapshot()->partition("e", 0)->state.leader == 3; }));
  EXPECT_EQ(c.node->elect_leader("e", 0, preferred).error_code,
            static_cast<std::int16_t>(kafka::ErrorCode::preferred_leader_not_available));
  Node b2(etcd, 2);
  ASSERT_TRUE(eventually([&] { return c.node->snapshot()->brokers.size() == 3; }));
  auto s = c.node->snapshot()->partition("e", 0)->state;
  PartitionState back = s;
  back.isr = {3, 1, 2};
  c.node->propose_isr("e", 0, back);  // broker 3 leads: its proposal commits
  ASSERT_TRUE(eventually([&] { return c.node->snapshot()->partition("e", 0)->state.isr.size() == 3; }));
  auto r = c.node->elect_leader("e", 0, preferred);
  ASSERT_EQ(r.error_code, 0) << r.message;
  auto now = c.node->snapshot()->partition("e", 0)->state;
  EXPECT_EQ(now.leader, 2);
  EXPECT_EQ(now.leader_epoch, s.leader_epoch + 1);
  ASSERT_TRUE(eventually([&] { return b2.node->is_leader("e", 0); }));
}

TEST(ClusterNode, LeadersMoveWhenABrokerLeavesAndTheControllerFailsOver) {
  NEED_ETCD();
  EtcdProcess etcd;
  auto a = std::make_unique<Node>(etcd, 1);
  Node b(etcd, 2), c(etcd, 3);
  ASSERT_TRUE(eventually([&] { return b.node->snapshot()->brokers.size() == 3; }));
  ASSERT_EQ(b.node->create_topic("t", 1, 3, {{2, 3, 1}}, {}, false).error_code, 0);
  // Broker 2 (leader) leaves: the controller (1) elects 3.
  auto t0 = std::chrono::steady_clock::now();
  b.node->stop();
  ASSERT_TRUE(eventually([&] {
    auto* e = c.node->snapshot()->partition("t", 0);
    return e && e->state.leader == 3;
  }));
  auto s = c.node->snapshot()->partition("t", 0)->state;
  EXPECT_EQ(s.leader_epoch, 1);
  EXPECT_EQ(s.isr, (std::vector<std::int32_t>{3, 1}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  {
    std::lock_guard lk(c.rec.mu);
    EXPECT_EQ((c.rec.applied[{"t", 0}].leader), 3);
  }
  // The controller (1) leaves: 3 takes over and, with 1 gone too, keeps
  // leading with an ISR of itself.
  a->node->stop();
  ASSERT_TRUE(eventually([&] { return c.node->is_controller(); }));
  ASSERT_TRUE(eventually([&] {
    auto* e = c.node->snapshot()->partition("t", 0);
    return e && e->state.isr == std::vector<std::int32_t>{3};
  }));
  EXPECT_EQ(c.node->snapshot()->partition("t", 0)->state.leader_epoch, 1);
  a.reset();
}

TEST(ClusterNode, AStaleControllerCannotWrite) {
  NEED_ETCD();
  EtcdProcess etcd;
  auto a = std::make_unique<Node>(etcd, 1);
  Node b(etcd, 2);
  ASSERT_TRUE(a->node->is_controller());
  ASSERT_TRUE(eventually([&] { return a->node->snapshot()->controller_revision > 0 && b.node->snapshot()->brokers.size() == 2; }));
  const auto old_term = a->node->snapshot()->controller_revision;
  ASSERT_GT(old_term, 0);
  ASSERT_EQ(b.node->create_topic("t", 1, 2, {{1, 2}}, {}, false).error_code, 0);
  a->node->stop();
  ASSERT_TRUE(eventually([&] { return b.node->is_controller(); }));
  // A write conditioned the way the old controller conditions its writes.
  EtcdClient c({{etcd.endpoint()}});
  Keys k;
  auto cur = c.get(k.partition("t", 0)).kvs.at(0);
  auto r = c.txn({Compare::mod_revision(cur.key, cur.mod_revision), Compare::create_revision(k.controller(), old_term)},
                 {Op::put(cur.key, "{}")});
  EXPECT_FALSE(r.succeeded);
  EXPECT_NE(c.get(k.partition("t", 0)).kvs.at(0).value, "{}");
}

TEST(ClusterNode, ProducerIdBlocksAreDisjointAcrossBrokers) {
  NEED_ETCD();
  EtcdProcess etcd;
  Node a(etcd, 1), b(etcd, 2);
  std::set<std::int64_t> starts;
  std::vector<std::thread> ts;
  std::mutex mu;
  for (Node* n : {&a, &b, &a, &b}) {
    ts.emplace_back([&, n] {
      for (int i = 0; i < 5; ++i) {
        const auto s = n->node->reserve_producer_ids(1000);
        std::lock_guard lk(mu);
        starts.insert(s);
      }
    });
  }
  for (auto& t : ts) t.join();
  // 20 reservations of 1000 from concurrent brokers: 0, 1000, ..., 19000.
  ASSERT_EQ(starts.size(), 20u);
  EXPECT_EQ(*starts.begin(), 0);
  EXPECT_EQ(*starts.rbegin(), 19000);
  EtcdClient c({{etcd.endpoint()}});
  Keys k;
  EXPECT_EQ(c.get(k.prefix + "producer_id_block").kvs.at(0).value, "20000");
  c.put(k.prefix + "producer_id_block", "12x");
  EXPECT_THROW(a.node->reserve_producer_ids(1000), EtcdError);
  EXPECT_THROW(a.node->reserve_producer_ids(0), EtcdError);
}

TEST(ClusterNode, IsrProposalsCommitOnlyAgainstTheCurrentEpoch) {
  NEED_ETCD();
  EtcdProcess etcd;
  Node a(etcd, 1), b(etcd, 2);
  ASSERT_TRUE(eventually([&] { return a.node->snapshot()->brokers.size() == 2; }));
  ASSERT_EQ(a.node->create_topic("t", 1, 2, {{1, 2}}, {}, false).error_code, 0);
  auto s = a.node->snapshot()->partition("t", 0)->state;
  auto shrink = s;
  shrink.isr = {1};
  a.node->propose_isr("t", 0, shrink);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(b.rec.mu);
    return (b.rec.applied[{"t", 0}].isr) == std::vector<std::int32_t>{1};
  }));
  auto now = a.node->snapshot()->partition("t", 0)->state;
  EXPECT_EQ(now.partition_epoch, s.partition_epoch + 1);
  EXPECT_EQ(now.leader_epoch, s.leader_epoch);
  // A proposal against the old partition epoch is refused.
  auto stale = s;
  stale.isr = {1, 2};
  a.node->propose_isr("t", 0, stale);
  // A proposal from a non-leader is refused.
  auto from_b = now;
  from_b.isr = {1, 2};
  b.node->propose_isr("t", 0, from_b);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(a.node->snapshot()->partition("t", 0)->state.isr, (std::vector<std::int32_t>{1}));
  auto grow = now;
  grow.isr = {1, 2};
  a.node->propose_isr("t", 0, grow);
  ASSERT_TRUE(eventually([&] { return a.node->snapshot()->partition("t", 0)->state.isr.size() == 2; }));
}

TEST(ClusterNode, SameIdTwiceIsRefusedAndEtcdDownIsAClearError) {
  NEED_ETCD();
  auto etcd = std::make_unique<EtcdProcess>();
  Node a(*etcd, 1);
  ClusterOptions o;
  o.endpoints = {etcd->endpoint()};
  o.self = {1, "127.0.0.1", 9999, ""};
  o.session_timeout = 2000ms;
  ClusterNode dup(o, nullptr, nullptr);
  try {
    dup.start();
    FAIL() << "a second broker 1 registered";
  } catch (const EtcdError& e) {
    EXPECT_NE(std::string(e.what()).find("node id 1 is registered"), std::string::npos) << e.what();
  }
  o.endpoints = {"http://127.0.0.1:1"};
  o.self.node_id = 5;
  ClusterNode nowhere(o, nullptr, nullptr);
  EXPECT_THROW(nowhere.start(), EtcdError);
}

TEST(ClusterNode, SurvivesAnEtcdRestart) {
  NEED_ETCD();
  EtcdProcess etcd;
  Node a(etcd, 1), b(etcd, 2);
  ASSERT_TRUE(eventually([&] { return a.node->snapshot()->brokers.size() == 2; }));
  ASSERT_EQ(a.node->create_topic("t", 1, 2, {{1, 2}}, {}, false).error_code, 0);
  etcd.stop();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(b.node->is_leader("t", 0) == false);
  EXPECT_TRUE(a.node->is_leader("t", 0)) << "state that does not change keeps serving";
  etcd.start();
  // Both sessions come back (renewed or registered again) and a new topic is seen by both.
  ASSERT_TRUE(eventually([&] { return a.node->create_topic("u", 1, 2, {}, {}, false).error_code == 0; }, 15s));
  ASSERT_TRUE(eventually([&] { return b.node->snapshot()->topics.contains("u") && b.node->snapshot()->brokers.size() == 2; }, 15s));
}

// A Recorder whose topic callbacks wait while the gate is closed: it holds
// the node's watch thread, as a stalled watch stream would.
struct GatedRecorder : Recorder {
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool closed = false;
  void topic_changed(const std::string& n, std::int32_t parts, const std::map<std::string, std::string>& c,
                     const kafka::Uuid& id) override {
    std::unique_lock lk(gate_mu);
    gate_cv.wait(lk, [&] { return !closed; });
    lk.unlock();
    Recorder::topic_changed(n, parts, c, id);
  }
  void set_closed(bool v) {
    std::lock_guard lk(gate_mu);
    closed = v;
    gate_cv.notify_all();
  }
};

TEST(ClusterNode, ARegisteredAgainBrokerIsNotCurrentUntilItsViewReachesTheRegistration) {
  NEED_ETCD();
  EtcdProcess etcd;
  GatedRecorder rec;
  ClusterOptions o;
  o.endpoints = {etcd.endpoint()};
  o.self = {1, "127.0.0.1", 9001, ""};
  o.session_timeout = 2000ms;
  ClusterNode a(o, &rec, &rec);
  a.start();
  Node b(etcd, 2);
  ASSERT_TRUE(eventually([&] { return a.session_current() && a.snapshot()->brokers.size() == 2; }));
  rec.set_closed(true);  // a's view stops at the next topic change
  ASSERT_EQ(b.node->create_topic("t", 1, 1, {{2}}, {}, false).error_code, 0);
  EtcdClient c({{etcd.endpoint()}});
  auto lease_of_1 = [&] {
    for (auto& kv : c.get_prefix(o.prefix + "brokers/").kvs)
      if (kv.key.ends_with("/1")) return kv.lease;
    return std::int64_t{0};
  };
  const auto old_lease = lease_of_1();
  ASSERT_NE(old_lease, 0);
  c.lease_revoke(old_lease);  // as if the session had expired while a was cut off
  ASSERT_TRUE(eventually([&] { const auto l = lease_of_1(); return l != 0 && l != old_lease; }))
      << "broker 1 did not register again";
  std::this_thread::sleep_for(1s);  // a few renewals of the new lease
  EXPECT_FALSE(a.session_current()) << "the lease is fresh but the view predates the registration";
  rec.set_closed(false);
  EXPECT_TRUE(eventually([&] { return a.session_current(); }));
  EXPECT_TRUE(a.snapshot()->topics.contains("t"));
}

}  // namespace
}  // namespace nocopy::cluster
