// ClusterMember: what a broker in cluster mode does with the state the
// cluster layer (cluster::ClusterNode) reads from etcd.
//
// - TopicSink: a topic listed in etcd is created in the local TopicRegistry
//   (with its configs as overrides) on the admin thread, grown when its
//   partition count grows, and removed when it leaves etcd. Every broker
//   creates every partition of a topic locally; it serves only those it
//   leads.
// - ReplicaControl: keeps the partitions this broker currently leads, as etcd
//   last said (apply/removed), so that Produce, Fetch and ListOffsets on any
//   other partition answer NOT_LEADER_OR_FOLLOWER; every callback goes first
//   to the replication layer (replication::ReplicaManager), so that a new
//   leader has taken over its log before it is served. After creating a
//   topic locally it lets the replication layer attach the new logs.
//
// Thread-safety: the callbacks run on the cluster layer's watch thread;
// leads() may be called from any reactor thread.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/admin_thread.h"
#include "broker/topic_registry.h"
#include "cluster/cluster_node.h"
#include "replication/partition_state.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

class ClusterMember : public replication::ReplicaControl, public cluster::TopicSink {
 public:
  ClusterMember(std::int32_t node_id, TopicRegistry& topics, AdminThread& admin)
      : node_id_(node_id), topics_(topics), admin_(admin) {}

  bool leads(std::string_view topic, std::int32_t partition) const;
  /// Before the cluster node starts; may be null (nothing is replicated).
  void set_replicas(replication::ReplicaManager* r) { replicas_ = r; }
  /// Before the cluster node starts: told, after the replication layer,
  /// on every state of every partition this broker holds a replica of
  /// whether it leads it (and in which leader epoch; -1 when the
  /// partition was removed). Runs on the watch thread; the coordinators
  /// (GroupsService) load and unload their internal partitions from it.
  using LeadershipListener =
      std::function<void(const std::string& topic, std::int32_t partition, bool leads, std::int32_t leader_epoch)>;
  void set_leadership_listener(LeadershipListener l) { leadership_ = std::move(l); }

  void apply(const std::string& topic, std::int32_t partition, const replication::PartitionState& state) override;
  void removed(const std::string& topic, std::int32_t partition) override;
  void brokers(const std::vector<replication::BrokerEndpoint>& live) override;
  // Creates or grows the topic locally with etcd's id; a local topic whose
  // id differs (created before ids were kept in etcd) takes etcd's id.
  void topic_changed(const std::string& name, std::int32_t partitions, const std::map<std::string, std::string>& configs,
                     const kafka::Uuid& topic_id) override;
  void topic_deleted(const std::string& name) override;

 private:
  std::int32_t node_id_;
  TopicRegistry& topics_;
  AdminThread& admin_;
  replication::ReplicaManager* replicas_ = nullptr;
  LeadershipListener leadership_;
  mutable std::shared_mutex mu_;
  std::set<std::pair<std::string, std::int32_t>, std::less<>> leading_;
};

}  // namespace nocopy::broker
