// ClusterNode: one broker's membership in a cluster coordinated by etcd.
//
// - Session: the broker registers brokers/<id> under an etcd lease of
//   `session_timeout` and renews it every third of that. A broker whose lease
//   expires (crash, lost connectivity) disappears from the cluster. A lost
//   lease is noticed at the next renewal; the broker then registers again.
//   session_current() says whether the lease can still be alive: a renewal
//   (or the grant) sent less than one TTL ago succeeded. Once it cannot,
//   etcd may already have handed this broker's partitions to others. After a
//   (re)registration it also waits for the watched state to reach the
//   registration's revision: until then the snapshot may predate what
//   happened while the broker was gone (a new leader of its partitions);
//   a watch still behind one renewal period later is restarted.
// - Controller: every broker campaigns by creating the controller key, bound
//   to its lease, in a transaction that only succeeds while the key does not
//   exist (create_revision == 0). The winner is the controller until its lease
//   ends; its term is identified by the key's create_revision, and every
//   write it makes is a transaction conditioned on that revision and on the
//   mod_revision of the partition it read, so a deposed controller's write
//   fails instead of overwriting its successor's.
// - The controller elects leaders (reconcile_partition in cluster_model.h)
//   when brokers come and go.
// - Watch: every key under the prefix is mirrored (read once, then a watch
//   from the next revision; re-read after the watch ends, EtcdWatchLoop).
//   Each change is published as a new ClusterSnapshot and passed on:
//   TopicSink for topics (so every broker creates the topics it hosts),
//   ReplicaControl::apply / removed for the partitions this broker is a
//   replica of, and ReplicaControl::brokers when the live brokers change.
//   These callbacks run on the watch's threads, one at a time, in revision
//   order.
// - ISR proposals (IsrChangeSink) are committed by a transaction conditioned
//   on the partition's mod_revision when the proposal's partition_epoch and
//   leader match the current state; otherwise they are dropped (the proposer
//   learns the current state through apply).
//
// Threads: a session thread, the EtcdWatchLoop's (plus its stream's), and a
// worker thread for controller writes and ISR proposals. Public
// methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_model.h"
#include "cluster/etcd_client.h"
#include "cluster/etcd_watch_loop.h"
#include "replication/partition_state.h"

namespace nocopy::cluster {

/// Implemented by the broker: topics as etcd lists them.
class TopicSink {
 public:
  virtual ~TopicSink() = default;
  /// A topic exists (new, or its partition count, configs or id changed).
  /// `topic_id` is zero until the controller has given an old topic one.
  virtual void topic_changed(const std::string& name, std::int32_t partitions,
                             const std::map<std::string, std::string>& configs, const kafka::Uuid& topic_id) = 0;
  virtual void topic_deleted(const std::string& name) = 0;
};

struct ClusterOptions {
  std::vector<std::string> endpoints;  ///< "http://host:port" (EtcdClient::parse_endpoints)
  std::string prefix = "/nocopy/";
  BrokerEndpoint self;
  std::chrono::milliseconds session_timeout{3000};  ///< lease TTL (rounded up to whole seconds, >= 2 s)
  std::int32_t default_replication_factor = 1;
  bool unclean_leader_election = false;
};

class ClusterNode : public replication::IsrChangeSink {
 public:
  /// `replicas` and `topics` may be null; both must outlive the node.
  ClusterNode(ClusterOptions opts, replication::ReplicaControl* replicas, TopicSink* topics);
  ~ClusterNode() override;  ///< stop()

  /// Registers this broker (waiting up to one session timeout for a previous
  /// registration of the same id to expire), reads the cluster's state,
  /// delivers it to the sinks, and starts the threads. Throws EtcdError when
  /// etcd cannot be reached or the id stays taken.
  void start();
  /// Leaves the cluster at once (revokes the lease) and joins the threads.
  void stop();

  std::int32_t node_id() const { return opts_.self.node_id; }
  std::shared_ptr<const ClusterSnapshot> snapshot() const;
  bool is_controller() const { return controller_rev_.load() != 0; }
  /// Whether this broker's lease cannot have expired yet -- the last grant or
  /// renewal that succeeded was sent less than one TTL ago (measured from
  /// the send, so never later than etcd's own expiry) -- and the snapshot
  /// delivered to the sinks is at or after the revision that registered it.
  bool session_current() const;
  /// Whether this broker leads `topic`-`partition` in the latest snapshot.
  bool is_leader(std::string_view topic, std::int32_t partition) const;

  struct Result {
    std::int16_t error_code = 0;  ///< Kafka's
    std::string message;
  };
  /// Creates a topic: replicas round-robin over the live brokers
  /// (`replication_factor` -1: the default), or `assignment` (one replica
  /// list per partition) when not empty. Waits (bounded) until this broker's
  /// snapshot shows it. Errors: invalid_replication_factor,
  /// invalid_replica_assignment, topic_already_exists, request_timed_out
  /// (etcd unreachable).
  Result create_topic(const std::string& name, std::int32_t partitions, std::int32_t replication_factor,
                      const std::vector<std::vector<std::int32_t>>& assignment,
                      const std::map<std::string, std::string>& configs, bool validate_only);
  /// Grows a topic to `count` partitions, the new ones assigned round-robin
  /// over the live brokers with the replication factor of partition 0.
  /// Errors: unknown_topic_or_partition, invalid_partitions,
  /// invalid_replication_factor, request_timed_out (also when the topic
  /// changed meanwhile: the client retries).
  Result add_partitions(const std::string& name, std::int32_t count, bool validate_only);
  /// Errors: unknown_topic_or_partition, request_timed_out.
  Result delete_topic(const std::string& name);
  /// An administrator's leader election for one partition (elect_leader in
  /// cluster_model.h), written as a transaction conditioned on the
  /// partition's mod_revision; waits (bounded) until this broker's snapshot
  /// shows it. Any broker may run it: a concurrent change of the partition
  /// makes the write fail (request_timed_out: the client retries). Errors:
  /// unknown_topic_or_partition, election_not_needed,
  /// preferred_leader_not_available, eligible_leaders_not_available,
  /// request_timed_out.
  Result elect_leader(const std::string& topic, std::int32_t partition, ElectionType type);

  void propose_isr(const std::string& topic, std::int32_t partition, const PartitionState& proposed) override;

  /// Reserves `count` producer ids for this broker alone and returns the
  /// first: the counter `<prefix>producer_id_block` in etcd (the next
  /// unreserved id, decimal) is advanced by a transaction conditioned on its
  /// mod_revision, retried when another broker moved it meanwhile. Throws
  /// EtcdError when etcd is unreachable, the value is not a number, or the
  /// counter kept moving.
  std::int64_t reserve_producer_ids(std::int64_t count);

  /// Blocks until the local snapshot has reached `revision` (true) or
  /// `timeout` passed (false).
  bool wait_for_revision(std::int64_t revision, std::chrono::milliseconds timeout) const;

 private:
  void register_session();  // grants a lease and writes brokers/<id>; throws
  bool campaign();          // tries to become the controller; true if it did
  void session_loop();
  void worker_loop();
  void load_all();  // re-reads the prefix into kvs_ and publishes
  void on_events(std::int64_t revision, const std::vector<WatchEvent>& events);
  void publish(std::int64_t revision);  // kvs_ -> snapshot -> sinks (watch thread)
  void deliver(const ClusterSnapshot& snap);
  void control(const ClusterSnapshot& snap);  // the controller's pass (worker thread)
  void commit_isr(const std::string& topic, std::int32_t partition, const PartitionState& proposed);
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping

  ClusterOptions opts_;
  Keys keys_;
  replication::ReplicaControl* replicas_;
  TopicSink* topics_;
  EtcdClient etcd_;
  std::int64_t ttl_seconds_;

  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> lease_{0};
  std::atomic<std::int64_t> session_ok_ns_{0};  // steady clock: send time of the last successful grant/renewal
  std::atomic<std::int64_t> controller_rev_{0};  // create_revision of our controller key; 0: not controller
  std::atomic<std::int64_t> registered_rev_{0};  // revision of the write that registered this broker
  std::atomic<std::int64_t> delivered_rev_{0};   // revision of the snapshot the sinks were last given
  // The session thread restarts the watch when delivered_rev_ stays below
  // registered_rev_ for more than a renewal period.

  mutable std::mutex mu_;  // guards snapshot_, kvs_, proposals_, dirty_
  mutable std::condition_variable cv_;
  std::shared_ptr<const ClusterSnapshot> snapshot_;
  std::map<std::string, KeyValue> kvs_;
  struct Proposal {
    std::string topic;
    std::int32_t partition;
    PartitionState state;
  };
  std::deque<Proposal> proposals_;
  bool dirty_ = false;  // the worker should run a controller pass

  // Watch thread only: what the sinks were last told.
  struct ToldTopic {
    std::int32_t partitions = 0;
    std::map<std::string, std::string> configs;
    kafka::Uuid topic_id{};
    bool operator==(const ToldTopic&) const = default;
  };
  std::map<std::string, ToldTopic> told_topics_;
  std::map<std::pair<std::string, std::int32_t>, PartitionState> told_partitions_;
  std::vector<BrokerEndpoint> told_brokers_;
  bool told_any_ = false;

  std::thread session_thread_, worker_thread_;
  EtcdWatchLoop watch_;  // the session thread restart()s it when it falls behind
};

}  // namespace nocopy::cluster
