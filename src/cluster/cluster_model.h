// The cluster's state as it is kept in etcd: the key layout, the JSON value of
// each key, a parsed snapshot of all of it, and the pure decisions the
// controller makes over a snapshot (replica assignment, leader election).
//
// Key layout (every key under the prefix, default "/nocopy/"):
//   brokers/<id>              {"id","host","port","rack","listeners":{name:{"host","port"}}}
//                             bound to the broker's lease
//   acls                      the ACL set (security/acl_file.h's text), cluster/etcd_document.h
//   scram_credentials         the salted SCRAM credentials (security/scram_store.h's text)
//   controller                {"id"}                         bound to the controller's lease
//   topics/<name>             {"partitions","configs":{..},"topic_id"}  (topic_id: Kafka's
//                             22-character text form; absent in topics written before ids
//                             were kept -- the controller adds one)
//   partitions/<name>/<p>     {"leader","leader_epoch","partition_epoch","replicas","isr"}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/etcd_client.h"
#include "kafka/uuid.h"
#include "replication/partition_state.h"

namespace nocopy::cluster {

using replication::BrokerEndpoint;
using replication::PartitionState;

struct Keys {
  std::string prefix = "/nocopy/";
  std::string broker(std::int32_t id) const { return prefix + "brokers/" + std::to_string(id); }
  std::string controller() const { return prefix + "controller"; }
  std::string acls() const { return prefix + "acls"; }
  std::string scram_credentials() const { return prefix + "scram_credentials"; }
  std::string topic(const std::string& name) const { return prefix + "topics/" + name; }
  std::string partitions_of(const std::string& name) const { return prefix + "partitions/" + name + "/"; }
  std::string partition(const std::string& name, std::int32_t p) const {
    return partitions_of(name) + std::to_string(p);
  }
};

struct PartitionEntry {
  PartitionState state;
  std::int64_t mod_revision = 0;  ///< 0: the key does not exist
};

struct TopicEntry {
  std::int32_t partition_count = 0;
  std::map<std::string, std::string> configs;
  kafka::Uuid topic_id{};  ///< zero: the key has none yet
  std::int64_t mod_revision = 0;
  std::vector<PartitionEntry> partitions;  ///< partition_count entries
};

struct ClusterSnapshot {
  std::int64_t revision = 0;
  std::map<std::int32_t, BrokerEndpoint> brokers;  ///< live brokers
  std::int32_t controller_id = -1;
  std::int64_t controller_revision = 0;  ///< create_revision of the controller key
  std::map<std::string, TopicEntry, std::less<>> topics;

  bool is_live(std::int32_t id) const { return brokers.contains(id); }
  const PartitionEntry* partition(std::string_view topic, std::int32_t p) const;
  std::vector<BrokerEndpoint> live_brokers() const;
};

std::string to_json(const BrokerEndpoint& b);
std::string to_json(const PartitionState& s);
std::string topic_json(std::int32_t partitions, const std::map<std::string, std::string>& configs,
                       const kafka::Uuid& topic_id);

/// Every key under keys.prefix -> a snapshot. Values that do not parse are
/// skipped (and named in *warnings when given).
ClusterSnapshot build_snapshot(const Keys& keys, const std::map<std::string, KeyValue>& kvs, std::int64_t revision,
                               std::vector<std::string>* warnings = nullptr);

/// Round-robin replica assignment (Kafka's, without racks): partition p's
/// replicas are live[(start + p + i) % n] for i < rf, with the followers
/// shifted by p / n so leaders and followers both spread. `live` sorted.
std::vector<std::vector<std::int32_t>> assign_replicas(const std::vector<std::int32_t>& live, std::int32_t partitions,
                                                       std::int32_t rf, std::int32_t start);

/// What the controller writes for a partition given the live brokers, or
/// nullopt when it should stay as it is:
///  - a leader that is not live is replaced by the first replica (in
///    assignment order) that is live and in the ISR; with none, by any live
///    replica when `unclean` (its ISR becomes just itself), else the
///    partition goes offline (leader -1) keeping its ISR so a member of it
///    can lead again when it returns;
///  - an offline partition gets a leader as soon as an ISR member is live;
///  - brokers that are not live leave the ISR (unless no member is live).
/// Every leader change bumps leader_epoch; every change bumps partition_epoch.
std::optional<PartitionState> reconcile_partition(const PartitionState& s, const ClusterSnapshot& snap, bool unclean);

/// Kafka's election types (ElectLeaders' ElectionType).
enum class ElectionType : std::int8_t { preferred = 0, unclean = 1 };

/// An administrator's election (ElectLeaders) over one partition: the new
/// state, or the Kafka error saying why there is none.
///  - preferred: the first replica in assignment order leads when it is live
///    and in the ISR: election_not_needed when it already leads,
///    preferred_leader_not_available when it is not live or not in the ISR.
///  - unclean: only for a partition without a live leader: the first live
///    ISR member, else the first live replica (the ISR becomes just it);
///    election_not_needed when a live leader exists,
///    eligible_leaders_not_available when no replica is live.
/// A new leader bumps leader_epoch and partition_epoch.
struct Election {
  std::optional<PartitionState> next;
  std::int16_t error_code = 0;
  std::string message;
};
Election elect_leader(const PartitionState& s, const ClusterSnapshot& snap, ElectionType type);

}  // namespace nocopy::cluster
