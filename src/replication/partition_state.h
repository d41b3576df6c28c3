#pragma once
// The contract between the cluster layer (which reads and writes the cluster's
// state in etcd) and the replication layer (which moves bytes between the
// replicas of a partition). Plain values: copied freely, no locking inside.
//
// Who writes what:
// - Only the controller changes `leader`, `leader_epoch`, `replicas` (through a
//   conditional etcd transaction). Every leader change bumps `leader_epoch`.
// - The leader proposes ISR changes (`IsrChangeSink::propose_isr`); the change
//   takes effect only once it is committed to etcd and comes back through
//   `ReplicaControl::apply`. Every committed change of any field bumps
//   `partition_epoch`, and a proposal made against a stale `partition_epoch`
//   is refused, so two writers never both win.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nocopy::replication {

/// One listener's advertised address.
struct ListenerAddress {
  std::string host;
  uint16_t port = 0;
  bool operator==(const ListenerAddress&) const = default;
};

/// A broker as the cluster advertises it to clients and to other brokers.
struct BrokerEndpoint {
  int32_t node_id = -1;
  std::string host;  ///< the default address (the first listener's)
  uint16_t port = 0;
  std::string rack;  ///< empty: none
  /// Every listener's advertised address by listener name (the security
  /// protocol: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL); empty for a broker
  /// started without `listeners`.
  std::map<std::string, ListenerAddress> listeners;
  bool operator==(const BrokerEndpoint&) const = default;

  /// The address of listener `name`, else the default one.
  ListenerAddress address_for(const std::string& name) const {
    auto it = listeners.find(name);
    return it == listeners.end() ? ListenerAddress{host, port} : it->second;
  }
};

/// One partition's assignment and leadership, as last committed to etcd.
struct PartitionState {
  int32_t leader = -1;            ///< broker id; -1 = no live leader (offline)
  int32_t leader_epoch = 0;       ///< bumped at every leader change
  int32_t partition_epoch = 0;    ///< bumped at every committed change
  std::vector<int32_t> replicas;  ///< assignment order; replicas[0] is the preferred leader
  std::vector<int32_t> isr;       ///< in-sync replicas; contains the leader when leader >= 0
  bool operator==(const PartitionState&) const = default;
};

/// Implemented by the replication layer; called by the cluster layer (from its
/// watch thread) whenever etcd shows a new state for a partition this broker
/// is a replica of, and with `removed` when it no longer is.
class ReplicaControl {
 public:
  virtual ~ReplicaControl() = default;
  virtual void apply(const std::string& topic, int32_t partition,
                     const PartitionState& state) = 0;
  virtual void removed(const std::string& topic, int32_t partition) = 0;
  /// Live brokers changed (endpoints of leaders to fetch from).
  virtual void brokers(const std::vector<BrokerEndpoint>& live) = 0;
};

/// Implemented by the cluster layer; called by a partition's leader when a
/// follower fell out of sync (replica.lag.time.max.ms) or caught up again.
/// `proposed.partition_epoch` is the epoch the proposal was made against.
/// Asynchronous: the outcome arrives as a later ReplicaControl::apply.
class IsrChangeSink {
 public:
  virtual ~IsrChangeSink() = default;
  virtual void propose_isr(const std::string& topic, int32_t partition,
                           const PartitionState& proposed) = 0;
};

}  // namespace nocopy::replication
