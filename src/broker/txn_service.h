// TxnService: wires the I/O-free txn::TxnCoordinator into the broker.
//
// Single node: one coordinator for every transactional id over the internal,
// compacted partition `__transaction_state-0` (one uncompressed
// single-record batch per state change, Kafka's TransactionLogKey/Value
// format, see txn/txn_metadata.h), replayed at start; the transactions a
// crash left being completed are completed then. Markers go to the
// partitions through Partition::append_marker; coordinator calls run on the
// reactor thread that received the request (run() is inline).
//
// Cluster mode (set_cluster() before the cluster node starts): as Kafka,
// `__transaction_state` is a replicated, compacted topic created through
// etcd the first time a client looks a transactional id up
// (Config::txn_state_partitions partitions). A transactional id belongs to
// partition coordinator_partition(id, partitions) and is coordinated only by
// that partition's leader, with one TxnCoordinator ("shard") per partition
// led here:
// - leadership(p, true, epoch) loads partition p on the loader thread (its
//   whole log, to the log end); meanwhile its ids are answered
//   COORDINATOR_LOAD_IN_PROGRESS. Transactions found in PrepareCommit /
//   PrepareAbort are completed by the ticker (markers written again), Ongoing
//   ones time out as usual. The coordinator epoch written into markers is
//   the partition's leader epoch. leadership(p, false, ...) drops the shard.
// - an id of a partition not led here: NOT_COORDINATOR; while the topic does
//   not exist: COORDINATOR_NOT_AVAILABLE.
// - a state change is appended only while this broker leads the partition
//   unfenced (in the shard's epoch) with an ISR of at least
//   min.insync.replicas, and counts only once the high watermark has passed
//   it (acks=all); otherwise the coordinator answers COORDINATOR_NOT_AVAILABLE
//   and nothing changed in memory.
// - markers go to each partition's leader as WriteTxnMarkers (TxnMarkerSender),
//   which answers once its ISR has the marker; NOT_LEADER_OR_FOLLOWER is
//   retried against the leader the cluster's state names next. EndTxn is
//   answered once Prepare* is stored; the worker thread then writes the
//   markers. A transaction completes only when every marker is
//   acknowledged; until then it stays Prepare* (CONCURRENT_TRANSACTIONS for
//   its id) and the ticker retries.
// - coordinator calls block (replication, markers over the network): they
//   run on one worker thread (run()), never on a reactor thread.
// A ticker thread calls tick(now) on every loaded coordinator every 100 ms.
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "broker/config.h"
#include "broker/coordinator_loader.h"
#include "broker/topic_registry.h"
#include "replication/partition_state.h"
#include "txn/txn_coordinator.h"

namespace nocopy::replication {
class ReplicaManager;
}

namespace nocopy::broker {

class GroupsService;
class Partition;
class TxnMarkerSender;
class TxnStatePartitionLog;
class TxnVerifier;

inline constexpr const char* kTxnStateTopic = "__transaction_state";

class TxnService final : private txn::TxnParticipants {
 public:
  // Single node: creates/opens __transaction_state-0 and replays it. Cluster
  // mode: opens nothing. `groups` (the group coordinators) may be null:
  // AddOffsetsToTxn is then COORDINATOR_NOT_AVAILABLE.
  TxnService(const Config& cfg, TopicRegistry& topics, GroupsService* groups,
             std::function<std::int64_t()> allocate_producer_id);
  ~TxnService() override;
  void stop();

  // Cluster mode, before the cluster node starts.
  struct ClusterHooks {
    replication::ReplicaManager* replicas = nullptr;
    // Partitions of __transaction_state in the cluster's state; 0: absent.
    std::function<std::int32_t()> state_partitions;
    // Creates __transaction_state through etcd (blocking, bounded); true
    // when it exists afterwards. Run on a background thread.
    std::function<bool()> create_state_topic;
    // The leader of a partition as the cluster's state says: nullopt when
    // the partition does not exist, node_id -1 when it has no live leader.
    std::function<std::optional<replication::BrokerEndpoint>(const std::string&, std::int32_t)> leader_of;
  };
  void set_cluster(ClusterHooks hooks);
  bool clustered() const { return clustered_; }
  // Cluster mode: this broker leads (or does not) partition `partition` of
  // __transaction_state in `leader_epoch`.
  void leadership(std::int32_t partition, bool leads, std::int32_t leader_epoch);
  // Cluster mode: asks for __transaction_state to be created unless it
  // exists or a creation is under way (returns at once).
  void ensure_state_topic();

  // The coordinator of `transactional_id`, or the error to answer
  // (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
  // COORDINATOR_NOT_AVAILABLE). The pointer keeps the shard alive.
  struct Route {
    std::shared_ptr<txn::TxnCoordinator> coordinator;
    kafka::ErrorCode error = kafka::ErrorCode::none;
  };
  Route route(const std::string& transactional_id);
  // Every loaded coordinator (ListTransactions).
  std::vector<std::shared_ptr<txn::TxnCoordinator>> coordinators();
  // Produce verification (TxnCoordinator::verify_partition) by the
  // coordinator here that knows `producer_id`. Cluster mode: a producer no
  // coordinator here knows is coordinated by another broker: NONE here (the
  // Produce handler asks that broker first, verify_remote()).
  kafka::ErrorCode verify_partition(std::int64_t producer_id, std::int16_t epoch, const std::string& topic,
                                    std::int32_t partition);
  // Whether a coordinator loaded here knows `producer_id` (its batches are
  // verified by verify_partition here).
  bool coordinates(std::int64_t producer_id);
  // Cluster mode: asks the coordinator of `transactional_id` on another
  // broker whether the producer's transaction is Ongoing with each of
  // `partitions` added (TxnVerifier); `done` runs on the verifier's thread.
  void verify_remote(std::string transactional_id, std::int64_t producer_id, std::int16_t epoch,
                     std::vector<txn::TopicPartition> partitions,
                     std::function<void(std::vector<kafka::ErrorCode>)> done);
  // Transaction version 2: adds `partitions` to the producer's transaction
  // at the coordinator of `transactional_id` (a Produce v12+ batch opening
  // it in a partition, a TxnOffsetCommit v5's group), as AddPartitionsToTxn
  // v5 without verify_only; `done` gets one answer per partition as
  // txn::add_verdict() maps the coordinator's. Single node: inline, `done`
  // runs before this returns. Cluster mode: the coordinator here runs it on
  // the worker thread, another broker's is asked through the TxnVerifier;
  // `done` runs on that thread. Calls for one id run in order (an empty
  // `partitions` only keeps its place in that order).
  void add_to_txn(std::string transactional_id, std::int64_t producer_id, std::int16_t epoch,
                  std::vector<txn::TopicPartition> partitions,
                  std::function<void(std::vector<kafka::ErrorCode>)> done);
  // Runs `job`, which calls coordinators: inline on a single node, on the
  // worker thread in cluster mode (the job posts its own answer).
  void run(std::function<void()> job);

  static std::int64_t wall_ms();

  // Introspection (tests): the state of partition `p`'s coordinator here.
  enum class ShardState { absent, loading, loaded };
  ShardState shard_state(std::int32_t p) const;

 private:
  struct Shard {
    std::int32_t partition = 0;
    std::int32_t leader_epoch = -1;
    bool loaded = false;
    std::unique_ptr<TxnStatePartitionLog> log;
    std::unique_ptr<txn::TxnCoordinator> coordinator;
  };

  bool partition_exists(const std::string& topic, std::int32_t partition) override;
  bool partition_exists_for_broker(const std::string& topic, std::int32_t partition) override;
  std::int16_t write_marker(const txn::TopicPartition& tp, std::int64_t producer_id, std::int16_t epoch, bool commit,
                            std::int32_t coordinator_epoch) override;
  std::optional<txn::TopicPartition> offsets_partition(const std::string& group) override;

  std::unique_ptr<txn::TxnCoordinator> new_coordinator(TxnStatePartitionLog* log, std::int32_t coordinator_epoch);
  // Replays every stored record of `part` into `c` (to the log end when `to_log_end`).
  static void replay(Partition& part, txn::TxnCoordinator& c, bool to_log_end);
  std::int32_t partitions_now() const;
  // Loader hooks (CoordinatorLoader), as GroupsService's.
  bool load_wanted(std::int32_t partition, std::int32_t epoch) const;
  void load(std::shared_ptr<Partition> part, std::int32_t partition, std::int32_t epoch,
            std::chrono::steady_clock::time_point started);
  void work_loop();
  void tick_all();

  const Config& cfg_;
  TopicRegistry& topics_;
  GroupsService* groups_;
  std::function<std::int64_t()> allocate_;
  const bool clustered_;
  ClusterHooks cluster_;  // set once, before the cluster node starts
  std::unique_ptr<TxnMarkerSender> markers_;  // cluster mode
  std::unique_ptr<TxnVerifier> verifier_;     // cluster mode

  mutable std::mutex mu_;
  std::map<std::int32_t, std::shared_ptr<Shard>> shards_;
  std::deque<std::function<void()>> jobs_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::thread ticker_;
  std::unique_ptr<CoordinatorLoader> loader_;  // cluster mode; set once, in set_cluster()
  std::thread worker_;
  std::mutex create_mu_;
  std::thread creator_;  // guarded by create_mu_
  std::atomic<bool> creating_{false};
};

}  // namespace nocopy::broker
