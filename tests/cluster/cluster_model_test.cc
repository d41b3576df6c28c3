#include "cluster/cluster_model.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "kafka/error_code.h"

namespace nocopy::cluster {
namespace {

ClusterSnapshot live(std::initializer_list<std::int32_t> ids) {
  ClusterSnapshot s;
  for (auto id : ids) s.brokers[id] = {id, "h", 1, ""};
  return s;
}

TEST(Assignment, RoundRobinSpreadsLeadersAndFollowers) {
  auto a = assign_replicas({1, 2, 3}, 6, 3, 0);
  ASSERT_EQ(a.size(), 6u);
  std::map<std::int32_t, int> leaders;
  for (auto& r : a) {
    EXPECT_EQ(std::set<std::int32_t>(r.begin(), r.end()).size(), 3u);
    ++leaders[r[0]];
  }
  EXPECT_EQ(leaders, (std::map<std::int32_t, int>{{1, 2}, {2, 2}, {3, 2}}));
  EXPECT_EQ(assign_replicas({1, 2, 3}, 1, 2, 1), (std::vector<std::vector<std::int32_t>>{{2, 3}}));
  EXPECT_TRUE(assign_replicas({1, 2}, 1, 3, 0).empty()) << "rf above the live brokers";
  EXPECT_TRUE(assign_replicas({}, 1, 1, 0).empty());
}

TEST(Reconcile, LiveLeaderWithLiveIsrIsLeftAlone) {
  PartitionState s{1, 3, 7, {1, 2, 3}, {1, 2, 3}};
  EXPECT_FALSE(reconcile_partition(s, live({1, 2, 3}), false));
}

TEST(Reconcile, DeadLeaderIsReplacedFromTheIsrAndEpochsBump) {
  PartitionState s{1, 3, 7, {1, 2, 3}, {1, 3}};
  auto n = reconcile_partition(s, live({2, 3}), false);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->leader, 3) << "2 is a live replica but not in the ISR";
  EXPECT_EQ(n->leader_epoch, 4);
  EXPECT_EQ(n->partition_epoch, 8);
  EXPECT_EQ(n->isr, (std::vector<std::int32_t>{3}));
  EXPECT_EQ(n->replicas, s.replicas);
}

TEST(Reconcile, NoLiveIsrMemberMeansOfflineUnlessUnclean) {
  PartitionState s{1, 3, 7, {1, 2}, {1}};
  auto n = reconcile_partition(s, live({2}), false);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->leader, -1);
  EXPECT_EQ(n->leader_epoch, 4);
  EXPECT_EQ(n->isr, (std::vector<std::int32_t>{1})) << "the last ISR member stays";
  EXPECT_FALSE(reconcile_partition(*n, live({2}), false)) << "stays offline, no churn";
  auto back = reconcile_partition(*n, live({1, 2}), false);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->leader, 1);
  EXPECT_EQ(back->leader_epoch, 5);
  auto u = reconcile_partition(s, live({2}), true);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->leader, 2);
  EXPECT_EQ(u->isr, (std::vector<std::int32_t>{2}));
}

TEST(Reconcile, DeadFollowerLeavesTheIsrWithoutALeaderChange) {
  PartitionState s{1, 3, 7, {1, 2, 3}, {1, 2, 3}};
  auto n = reconcile_partition(s, live({1, 3}), false);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->leader, 1);
  EXPECT_EQ(n->leader_epoch, 3);
  EXPECT_EQ(n->partition_epoch, 8);
  EXPECT_EQ(n->isr, (std::vector<std::int32_t>{1, 3}));
}

TEST(Election, PreferredMovesLeadershipBackToTheFirstReplicaInTheIsr) {
  using kafka::ErrorCode;
  PartitionState s{2, 3, 7, {1, 2, 3}, {1, 2, 3}};
  auto e = elect_leader(s, live({1, 2, 3}), ElectionType::preferred);
  ASSERT_TRUE(e.next);
  EXPECT_EQ(e.next->leader, 1);
  EXPECT_EQ(e.next->leader_epoch, 4);
  EXPECT_EQ(e.next->partition_epoch, 8);
  EXPECT_EQ(e.next->isr, s.isr);
  EXPECT_EQ(elect_leader(*e.next, live({1, 2, 3}), ElectionType::preferred).error_code,
            kafka::to_wire(ErrorCode::election_not_needed));
  PartitionState out_of_isr{2, 3, 7, {1, 2, 3}, {2, 3}};
  auto n = elect_leader(out_of_isr, live({1, 2, 3}), ElectionType::preferred);
  EXPECT_FALSE(n.next);
  EXPECT_EQ(n.error_code, kafka::to_wire(ErrorCode::preferred_leader_not_available));
  EXPECT_EQ(elect_leader(s, live({2, 3}), ElectionType::preferred).error_code,
            kafka::to_wire(ErrorCode::preferred_leader_not_available))
      << "the preferred replica is not live";
}

TEST(Election, UncleanOnlyForAPartitionWithoutALiveLeader) {
  using kafka::ErrorCode;
  PartitionState led{2, 3, 7, {1, 2, 3}, {2}};
  EXPECT_EQ(elect_leader(led, live({1, 2, 3}), ElectionType::unclean).error_code,
            kafka::to_wire(ErrorCode::election_not_needed));
  PartitionState offline{-1, 4, 8, {1, 2, 3}, {2}};
  auto e = elect_leader(offline, live({1, 3}), ElectionType::unclean);
  ASSERT_TRUE(e.next) << e.message;
  EXPECT_EQ(e.next->leader, 1) << "no ISR member is live: the first live replica";
  EXPECT_EQ(e.next->isr, (std::vector<std::int32_t>{1}));
  EXPECT_EQ(e.next->leader_epoch, 5);
  EXPECT_EQ(elect_leader(offline, live({}), ElectionType::unclean).error_code,
            kafka::to_wire(ErrorCode::eligible_leaders_not_available));
}

TEST(Snapshot, ParsesTheKeyLayoutAndSkipsBadValues) {
  Keys k;
  std::map<std::string, KeyValue> kvs;
  auto put = [&](const std::string& key, const std::string& v, std::int64_t rev) {
    kvs[key] = KeyValue{key, v, rev, rev, 1, 0};
  };
  put(k.broker(1), to_json(BrokerEndpoint{1, "10.0.0.1", 9092, ""}), 2);
  put(k.broker(2), "not json", 3);
  put(k.controller(), R"({"id":1})", 4);
  kafka::Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(0xa0 + i);
  put(k.topic("t"), topic_json(2, {{"retention.ms", "1000"}}, id), 5);
  put(k.topic("old"), R"({"partitions":1,"configs":{}})", 6);                  // written before topic ids
  put(k.topic("bad"), R"({"partitions":1,"configs":{},"topic_id":"xyz"})", 7);  // id dropped, topic kept
  put(k.partition("t", 0), to_json(PartitionState{1, 0, 0, {1}, {1}}), 5);
  put(k.partition("t", 5), to_json(PartitionState{1, 0, 0, {1}, {1}}), 5);  // beyond the count: orphan
  std::vector<std::string> warnings;
  auto s = build_snapshot(k, kvs, 9, &warnings);
  EXPECT_EQ(s.revision, 9);
  EXPECT_EQ(s.brokers.size(), 1u);
  EXPECT_EQ(s.brokers.at(1).host, "10.0.0.1");
  EXPECT_EQ(warnings.size(), 2u) << "the broker that is not JSON, the topic id that is not a Uuid";
  EXPECT_EQ(s.controller_id, 1);
  EXPECT_EQ(s.controller_revision, 4);
  ASSERT_EQ(s.topics.count("t"), 1u);
  EXPECT_EQ(s.topics.at("t").configs.at("retention.ms"), "1000");
  EXPECT_EQ(s.topics.at("t").topic_id, id);
  EXPECT_TRUE(kafka::is_zero(s.topics.at("old").topic_id));
  EXPECT_TRUE(kafka::is_zero(s.topics.at("bad").topic_id));
  EXPECT_EQ(s.topics.at("bad").partition_count, 1);
  ASSERT_TRUE(s.partition("t", 0));
  EXPECT_EQ(s.partition("t", 0)->state.leader, 1);
  EXPECT_FALSE(s.partition("t", 1)) << "no state written yet";
  EXPECT_FALSE(s.partition("t", 5));
}

TEST(Snapshot, BrokersCarryTheirListenersByName) {
  Keys k;
  BrokerEndpoint b{1, "10.0.0.1", 9092, "r1", {}};
  b.listeners["PLAINTEXT"] = {"10.0.0.1", 9092};
  b.listeners["SASL_PLAINTEXT"] = {"10.0.0.1", 9093};
  std::map<std::string, KeyValue> kvs;
  kvs[k.broker(1)] = KeyValue{k.broker(1), to_json(b), 2, 2, 1, 0};
  kvs[k.broker(2)] = KeyValue{k.broker(2), R"({"id":2,"host":"h2","port":9092,"rack":""})", 3, 3, 1, 0};
  kvs[k.acls()] = KeyValue{k.acls(), "# nocopy acls v1\n", 4, 4, 1, 0};  // not the snapshot's business
  std::vector<std::string> warnings;
  auto s = build_snapshot(k, kvs, 4, &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(s.brokers.at(1), b);
  EXPECT_EQ(s.brokers.at(1).address_for("SASL_PLAINTEXT"), (replication::ListenerAddress{"10.0.0.1", 9093}));
  EXPECT_EQ(s.brokers.at(1).address_for("SSL"), (replication::ListenerAddress{"10.0.0.1", 9092}));
  EXPECT_EQ(s.brokers.at(2).address_for("SASL_PLAINTEXT"), (replication::ListenerAddress{"h2", 9092}))
      << "a broker that registered no listeners: its default address";
}

}  // namespace
}  // namespace nocopy::cluster
