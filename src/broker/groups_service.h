// GroupsService: wires the I/O-free GroupCoordinator into the broker.
// Decodes the group APIs with kafka::decode_request(), runs them under one
// mutex, encodes answers with kafka::encode_response(), and posts every
// answer to the requesting connection's loop (coordinator callbacks may fire
// from another connection's request or from the ticker thread).
//
// Storage: committed offsets and group membership (see GroupCoordinator)
// are records of the internal, compacted topic `__consumer_offsets`
// (cleanup.policy=compact, segment.bytes = Config::offsets_segment_bytes,
// 100 MiB by default; an existing one without the policy gets it at
// start), so the log cleaner keeps only each key's latest record. Each
// partition of it has its own GroupCoordinator (a "shard") fed by replaying
// that partition (one uncompressed record per commit or completed
// generation; DeleteGroups and OffsetDelete append one batch of null-valued
// tombstones, replayed through replay_tombstone()); undecodable records are
// skipped with a warning. A ticker thread calls tick() every 100 ms.
//
// Single node (no --cluster): one partition, `__consumer_offsets-0`,
// created on first start and replayed in the constructor; this broker
// coordinates every group.
//
// Cluster mode (set_cluster() before the cluster node starts): the topic has
// Config::offsets_topic_num_partitions partitions, replicated like any
// topic; it is created through etcd (ensure_offsets_topic) the first time a
// client looks a group up. A group belongs to partition
// coordinator_partition(group_id, partitions) (coordinator_partition.h,
// Kafka's mapping) and is served only by that partition's leader:
// - leadership(p, true, epoch) starts loading partition p on the loader
//   thread (its whole log, to the log end: the new leader's log is the
//   partition's); meanwhile its groups' requests are answered
//   COORDINATOR_LOAD_IN_PROGRESS. leadership(p, false, ...) unloads it: its
//   waiting JoinGroups/SyncGroups are answered NOT_COORDINATOR and its
//   groups forgotten.
// - a request for a group of a partition not led here: NOT_COORDINATOR;
//   while the topic does not exist: COORDINATOR_NOT_AVAILABLE.
// - writes (commits, group records, tombstones) are appended only while
//   this broker leads the partition unfenced with an ISR of at least
//   min.insync.replicas (else the coordinator answers
//   COORDINATOR_NOT_AVAILABLE), stamped with the leader epoch, and every
//   answer of a shard is posted only once the partition's high watermark
//   has passed the shard's last append (acks=all); if it cannot (leadership
//   lost first) the answer is replaced by NOT_COORDINATOR.
//
// Thread-safety: every public member from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "broker/access.h"
#include "broker/config.h"
#include "broker/coordinator_loader.h"
#include "broker/group_coordinator.h"
#include "broker/pending_txn_offsets.h"
#include "broker/topic_registry.h"
#include "buf/chain.h"
#include "kafka/messages.h"

namespace nocopy::net {
class EventLoop;
}
namespace nocopy::replication {
class ReplicaManager;
}

namespace nocopy::broker {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class GroupsService {
 public:
  // Single node: creates/opens __consumer_offsets-0 and replays it. Cluster
  // mode (cfg.cluster_mode()): opens nothing; partitions are loaded as this
  // broker comes to lead them. Call before serving.
  GroupsService(const Config& cfg, TopicRegistry& topics);
  ~GroupsService();

  // Cluster mode, before the cluster node starts.
  struct ClusterHooks {
    replication::ReplicaManager* replicas = nullptr;
    // Partitions of __consumer_offsets in the cluster's state; 0: absent.
    std::function<std::int32_t()> offsets_partitions;
    // Creates __consumer_offsets through etcd (blocking, bounded); true when
    // it exists afterwards. Run on a background thread.
    std::function<bool()> create_offsets_topic;
  };
  void set_cluster(ClusterHooks hooks);
  // Cluster mode: the cluster's state says this broker leads (or does not)
  // partition `partition` of __consumer_offsets in `leader_epoch`.
  void leadership(std::int32_t partition, bool leads, std::int32_t leader_epoch);
  // Cluster mode: asks for __consumer_offsets to be created unless it
  // exists or a creation is under way (returns at once).
  void ensure_offsets_topic();

  static bool handles(std::int16_t api_key);
  // `respond(chain)` is posted to `loop`; an empty optional = close the
  // connection. `access` decides what the principal may do (group_access.h);
  // it is only used during the call.
  void handle(std::span<const std::byte> frame, const std::string& client_host, const Access& access,
              net::EventLoop& loop, std::function<void(std::optional<buf::Chain>)> respond);
  void stop();

  // Transactional offsets, as Kafka's group coordinator keeps them. The
  // client sends TxnOffsetCommit here (the group's coordinator) after
  // AddOffsetsToTxn has added the group's __consumer_offsets partition to
  // its transaction; the caller has verified that (the transaction
  // coordinator's verify_partition). The group's coordinator then checks
  // the sender's generation, member id and instance id
  // (GroupCoordinator::txn_offset_commit_error): a zombie of an older
  // generation gets ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
  // FENCED_INSTANCE_ID for every partition and nothing is appended, so its
  // transaction stays open for it to abort. Else the offsets are appended to that
  // partition as one transactional batch of the producer (its id and
  // epoch, no sequence) and stay pending -- OffsetFetch does not see them,
  // and answers UNSTABLE_OFFSET_COMMIT for them when require_stable --
  // until the transaction's marker in that partition: complete_txn() then
  // makes them the group's committed offsets (COMMIT), whatever the group's
  // generation, or drops them (ABORT). A load replays the partition the
  // same way, so offsets whose marker is not in the log stay pending.
  // `post` gets the answer, once the batch is replicated in cluster mode
  // (possibly on another thread). `version` is the request's (its errors
  // differ by version).
  void txn_offset_commit(const kafka::TxnOffsetCommitRequest& req, std::int16_t version,
                         std::function<void(const kafka::TxnOffsetCommitResponse&)> post);
  // The partition of __consumer_offsets that holds `group`'s records; in
  // cluster mode nullopt while the topic does not exist (its creation is
  // asked for).
  std::optional<std::int32_t> partition_of(const std::string& group);
  // NONE when `group` is served (loaded) here, else the error to answer
  // (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE).
  kafka::ErrorCode route_error(const std::string& group);
  // A COMMIT (`commit`) or ABORT marker of `producer_id` is in partition
  // `partition` of __consumer_offsets here (replicated, in cluster mode):
  // the producer's pending offsets there are applied or dropped. A shard
  // still loading applies it once loaded (its replay may have read the log
  // before the marker).
  void complete_txn(std::int32_t partition, std::int64_t producer_id, bool commit);

  // Introspection (tests): the state of partition `p`'s groups here.
  enum class ShardState { absent, loading, loaded };
  ShardState shard_state(std::int32_t p) const;
  std::size_t group_count(std::int32_t p) const;

 private:
  class OffsetsLog;
  struct Shard {
    std::int32_t partition = 0;
    std::int32_t leader_epoch = -1;
    bool loaded = false;
    std::unique_ptr<OffsetsLog> log;
    std::unique_ptr<GroupCoordinator> coordinator;
    PendingTxnOffsets txn_offsets;
    // Markers that arrived while loading: (producer id, commit).
    std::vector<std::pair<std::int64_t, bool>> markers_while_loading;
  };
  // Applies (commit) or drops the producer's pending offsets of `s`. Under mu_.
  static void complete_in(Shard& s, std::int64_t producer_id, bool commit);

  // Where a group's requests go: its loaded shard, or the error to answer.
  struct Route {
    Shard* shard = nullptr;
    kafka::ErrorCode error = kafka::ErrorCode::none;
  };
  Route route(const std::string& group_id);  // under mu_
  std::int32_t partitions_now() const;
  std::unique_ptr<GroupCoordinator> new_coordinator(OffsetLog* log) const;
  // Loader hooks (CoordinatorLoader): whether the shard still waits for
  // this load, and the replay and install of a loadable partition.
  bool load_wanted(std::int32_t partition, std::int32_t epoch) const;
  void load(std::shared_ptr<Partition> part, std::int32_t partition, std::int32_t epoch,
            std::chrono::steady_clock::time_point started);
  // The offset the answers of partition `p` wait for (its last append), -1: none. Under mu_.
  std::int64_t pending_offset(std::int32_t p) const;
  struct Wait {
    std::int32_t partition;
    std::int64_t offset;
  };
  // Posts `msg` once every wait is replicated (set_error NOT_COORDINATOR when one is not).
  template <class Msg, class Post>
  void answer(std::vector<Wait> waits, Msg msg, Post post);
  template <class Msg, class Post>
  void answer_from(Shard* s, Msg msg, Post post);

  const Config& cfg_;
  TopicRegistry& topics_;
  ClusterHooks cluster_;  // set once; guarded by mu_ and create_mu_ while set
  const bool clustered_;  // Config::cluster_mode()
  mutable std::mutex mu_;
  std::map<std::int32_t, std::unique_ptr<Shard>> shards_;
  std::thread ticker_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<CoordinatorLoader> loader_;  // cluster mode; set once, in set_cluster()
  std::mutex create_mu_;
  std::thread creator_;  // guarded by create_mu_
  std::atomic<bool> creating_{false};
};

}  // namespace nocopy::broker
