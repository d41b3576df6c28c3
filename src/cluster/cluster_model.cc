#include "cluster/cluster_model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "kafka/error_code.h"

namespace nocopy::cluster {

using nlohmann::json;
using kafka::ErrorCode;
using kafka::to_wire;

const PartitionEntry* ClusterSnapshot::partition(std::string_view topic, std::int32_t p) const {
  auto it = topics.find(topic);
  if (it == topics.end() || p < 0 || p >= static_cast<std::int32_t>(it->second.partitions.size())) return nullptr;
  const auto& e = it->second.partitions[static_cast<std::size_t>(p)];
  return e.mod_revision ? &e : nullptr;
}

std::vector<BrokerEndpoint> ClusterSnapshot::live_brokers() const {
  std::vector<BrokerEndpoint> out;
  for (auto& [id, b] : brokers) out.push_back(b);
  return out;
}

std::string to_json(const BrokerEndpoint& b) {
  json j{{"id", b.node_id}, {"host", b.host}, {"port", b.port}, {"rack", b.rack}};
  if (!b.listeners.empty()) {
    json ls = json::object();
    for (const auto& [name, a] : b.listeners) ls[name] = {{"host", a.host}, {"port", a.port}};
    j["listeners"] = std::move(ls);
  }
  return j.dump();
}

std::string to_json(const PartitionState& s) {
  return json{{"leader", s.leader},
              {"leader_epoch", s.leader_epoch},
              {"partition_epoch", s.partition_epoch},
              {"replicas", s.replicas},
              {"isr", s.isr}}
      .dump();
}

std::string topic_json(std::int32_t partitions, const std::map<std::string, std::string>& configs,
                       const kafka::Uuid& topic_id) {
  json j{{"partitions", partitions}, {"configs", configs}};
  if (!kafka::is_zero(topic_id)) j["topic_id"] = kafka::uuid_to_string(topic_id);
  return j.dump();
}

namespace {

bool parse_i32(std::string_view s, std::int32_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

ClusterSnapshot build_snapshot(const Keys& keys, const std::map<std::string, KeyValue>& kvs, std::int64_t revision,
                               std::vector<std::string>* warnings) {
  ClusterSnapshot snap;
  snap.revision = revision;
  auto warn = [&](const std::string& key, const std::string& why) {
    if (warnings) warnings->push_back(key + ": " + why);
  };
  const std::string brokers = keys.prefix + "brokers/";
  const std::string topics = keys.prefix + "topics/";
  const std::string parts = keys.prefix + "partitions/";
  std::map<std::pair<std::string, std::int32_t>, PartitionEntry> states;
  for (auto& [key, kv] : kvs) {
    try {
      if (key == keys.controller()) {
        snap.controller_id = json::parse(kv.value).at("id").get<std::int32_t>();
        snap.controller_revision = kv.create_revision;
      } else if (key.starts_with(brokers)) {
        json j = json::parse(kv.value);
        BrokerEndpoint b;
        b.node_id = j.at("id").get<std::int32_t>();
        b.host = j.at("host").get<std::string>();
        b.port = j.at("port").get<std::uint16_t>();
        b.rack = j.value("rack", std::string());
        if (auto ls = j.find("listeners"); ls != j.end() && ls->is_object())
          for (auto& [name, a] : ls->items())
            b.listeners[name] = {a.at("host").get<std::string>(), a.at("port").get<std::uint16_t>()};
        snap.brokers[b.node_id] = b;
      } else if (key.starts_with(topics)) {
        json j = json::parse(kv.value);
        auto& t = snap.topics[key.substr(topics.size())];
        t.partition_count = j.at("partitions").get<std::int32_t>();
        t.configs = j.value("configs", std::map<std::string, std::string>());
        if (j.contains("topic_id")) {
          auto id = kafka::parse_uuid(j.at("topic_id").get<std::string>());
          if (id && !kafka::is_zero(*id))
            t.topic_id = *id;
          else
            warn(key, "topic_id is not a Kafka Uuid; treated as missing");
        }
        t.mod_revision = kv.mod_revision;
      } else if (key.starts_with(parts)) {
        auto rest = std::string_view(key).substr(parts.size());
        auto slash = rest.rfind('/');
        std::int32_t p = -1;
        if (slash == std::string_view::npos || !parse_i32(rest.substr(slash + 1), p) || p < 0) {
          warn(key, "not <topic>/<partition>");
          continue;
        }
        json j = json::parse(kv.value);
        PartitionEntry e;
        e.state.leader = j.at("leader").get<std::int32_t>();
        e.state.leader_epoch = j.at("leader_epoch").get<std::int32_t>();
        e.state.partition_epoch = j.at("partition_epoch").get<std::int32_t>();
        e.state.replicas = j.at("replicas").get<std::vector<std::int32_t>>();
        e.state.isr = j.at("isr").get<std::vector<std::int32_t>>();
        e.mod_revision = kv.mod_revision;
        states[{std::string(rest.substr(0, slash)), p}] = std::move(e);
      }
    } catch (const std::exception& e) {
      warn(key, e.what());
    }
  }
  for (auto& [tp, e] : states) {
    auto it = snap.topics.find(tp.first);
    if (it == snap.topics.end() || tp.second >= it->second.partition_count) continue;  // orphan
    auto& v = it->second.partitions;
    if (v.size() < static_cast<std::size_t>(it->second.partition_count))
      v.resize(static_cast<std::size_t>(it->second.partition_count));
    v[static_cast<std::size_t>(tp.second)] = std::move(e);
  }
  for (auto& [name, t] : snap.topics)
    if (t.partitions.size() < static_cast<std::size_t>(t.partition_count))
      t.partitions.resize(static_cast<std::size_t>(t.partition_count));
  return snap;
}

std::vector<std::vector<std::int32_t>> assign_replicas(const std::vector<std::int32_t>& live, std::int32_t partitions,
                                                       std::int32_t rf, std::int32_t start) {
  std::vector<std::vector<std::int32_t>> out;
  const auto n = static_cast<std::int32_t>(live.size());
  if (n == 0 || rf < 1 || rf > n) return out;
  for (std::int32_t p = 0; p < partitions; ++p) {
    std::vector<std::int32_t> r;
    const std::int32_t first = (start + p) % n;
    r.push_back(live[static_cast<std::size_t>(first)]);
    // Followers: the brokers after the leader, starting at an offset that
    // moves every n partitions so that pairs of replicas vary (Kafka's
    // scheme without racks).
    const std::int32_t shift = n > 1 ? (p / n) % (n - 1) : 0;
    for (std::int32_t j = 0; j < rf - 1; ++j)
      r.push_back(live[static_cast<std::size_t>((first + 1 + (shift + j) % (n - 1)) % n)]);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<PartitionState> reconcile_partition(const PartitionState& s, const ClusterSnapshot& snap, bool unclean) {
  PartitionState n = s;
  auto contains = [](const std::vector<std::int32_t>& v, std::int32_t x) { return std::ranges::find(v, x) != v.end(); };
  if (s.leader < 0 || !snap.is_live(s.leader)) {
    std::int32_t pick = -1;
    for (auto r : s.replicas)
      if (snap.is_live(r) && contains(s.isr, r)) {
        pick = r;
        break;
      }
    bool unclean_pick = false;
    if (pick < 0 && unclean)
      for (auto r : s.replicas)
        if (snap.is_live(r)) {
          pick = r;
          unclean_pick = true;
          break;
        }
    if (pick != s.leader) {
      n.leader = pick;
      n.leader_epoch = s.leader_epoch + 1;
      if (unclean_pick) n.isr = {pick};
    }
  }
  // Brokers that are gone leave the ISR, unless none is left: then the ISR
  // stays (its members hold every acknowledged record and one of them may
  // lead again when it returns).
  std::vector<std::int32_t> isr;
  for (auto r : n.isr)
    if (snap.is_live(r)) isr.push_back(r);
  if (isr.empty()) isr = n.isr;
  if (n.leader >= 0 && !contains(isr, n.leader)) isr.insert(isr.begin(), n.leader);
  n.isr = std::move(isr);
  if (n == s) return std::nullopt;
  n.partition_epoch = s.partition_epoch + 1;
  return n;
}

namespace {

Election elect_preferred(const PartitionState& s, const ClusterSnapshot& snap) {
  if (s.replicas.empty()) return {std::nullopt, to_wire(ErrorCode::preferred_leader_not_available), "no replicas"};
  const std::int32_t want = s.replicas.front();
  if (s.leader == want && snap.is_live(want))
    return {std::nullopt, to_wire(ErrorCode::election_not_needed), "the preferred replica already leads"};
  if (!snap.is_live(want))
    return {std::nullopt, to_wire(ErrorCode::preferred_leader_not_available),
            "preferred replica " + std::to_string(want) + " is not live"};
  if (std::ranges::find(s.isr, want) == s.isr.end())
    return {std::nullopt, to_wire(ErrorCode::preferred_leader_not_available),
            "preferred replica " + std::to_string(want) + " is not in the ISR"};
  PartitionState n = s;
  n.leader = want;
  n.leader_epoch = s.leader_epoch + 1;
  n.partition_epoch = s.partition_epoch + 1;
  return {n, 0, {}};
}

Election elect_unclean(const PartitionState& s, const ClusterSnapshot& snap) {
  if (s.leader >= 0 && snap.is_live(s.leader))
    return {std::nullopt, to_wire(ErrorCode::election_not_needed), "the partition has a live leader"};
  auto n = reconcile_partition(s, snap, true);
  if (!n || n->leader < 0)
    return {std::nullopt, to_wire(ErrorCode::eligible_leaders_not_available), "no replica is live"};
  return {n, 0, {}};
}

}  // namespace

Election elect_leader(const PartitionState& s, const ClusterSnapshot& snap, ElectionType type) {
  return type == ElectionType::preferred ? elect_preferred(s, snap) : elect_unclean(s, snap);
}

}  // namespace nocopy::cluster
