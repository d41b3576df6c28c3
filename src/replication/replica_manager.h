// ReplicaManager: this broker's side of Kafka's replication protocol for the
// partitions the cluster layer says it holds a replica of (ReplicaControl).
//
// Leader (state.leader == this node):
//  * every Fetch with replica_id >= 0 reports that follower's log end offset
//    (its fetch offset): on_follower_fetch();
//  * the high watermark is the minimum log end offset over the ISR (the
//    leader's own included), never moving back; it is stored in the log
//    (PartitionLog::set_high_watermark), where consumers' reads stop;
//  * a follower in the ISR that has not caught up to the leader's log end
//    for replica_lag_time_max_ms is proposed out of the ISR, and a follower
//    outside it whose log end reaches the high watermark is proposed back
//    in (IsrChangeSink::propose_isr against the current partition_epoch);
//    the change takes effect only when it comes back through apply();
//  * appends are stamped with the leader epoch (View::leader_epoch), which
//    feeds the leader-epoch cache;
//  * acks=all produces wait (wait_for_high_watermark) until the high
//    watermark passes their last offset;
//  * fencing: once this broker's etcd session may have expired
//    (ReplicaOptions::session_current) another broker may lead in a newer
//    epoch. A leader that also has not been fetched from by any other
//    replica within fence_after_ms is fenced (View::fenced) and takes no
//    writes. One whose followers still fetch from it is kept serving: etcd
//    itself is down, and no one else can have been elected.
// Follower: a ReplicaFetcher thread per leader broker truncates a divergent
// tail (OffsetForLeaderEpoch) and then fetches with this node's replica id,
// appending the leader's batches with their offsets kept.
//
// A partition's log may not exist yet when its state arrives (topics are
// created locally on another thread): the state is kept and the log looked
// up again by attach_logs() (called by the broker after it creates a topic,
// and by the ISR checker's tick).
//
// A partition the cluster layer never mentioned is not replicated: view()
// says nullopt and the broker treats it as a single-node partition.
//
// Thread-safety: every member may be called from any thread (the cluster
// layer's watch thread, reactor threads, fetcher threads); one mutex guards
// the partition table; callbacks and proposals run outside it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kafka/reader.h"
#include "log/partition_log.h"
#include "replication/leader_client.h"
#include "replication/partition_state.h"

namespace nocopy::replication {

class ReplicaFetcher;

/// A partition's log and whatever keeps it alive (the broker's Partition).
struct LogHandle {
  std::shared_ptr<void> owner;
  log::PartitionLog* log = nullptr;
  explicit operator bool() const { return log != nullptr; }
};

struct ReplicaOptions {
  std::int32_t node_id = -1;
  InterBrokerAuth inter_broker;  ///< how followers reach and log in to their leaders
  std::int64_t replica_lag_time_max_ms = 30000;  ///< Kafka's replica.lag.time.max.ms
  std::int32_t fetch_max_wait_ms = 500;           ///< replica.fetch.wait.max.ms
  std::int32_t fetch_max_bytes = 1 << 20;         ///< per partition, replica.fetch.max.bytes
  std::int32_t fetch_response_max_bytes = 16 << 20;  ///< per Fetch, replica.fetch.response.max.bytes
  std::int32_t fetch_backoff_ms = 200;            ///< after an error, replica.fetch.backoff.ms
  /// Milliseconds of a steady clock; tests inject one. Empty: steady_clock.
  std::function<std::int64_t()> clock_ms;
  /// How often the ISR is checked for laggards (0: no thread; tests call check_isr()).
  std::int64_t isr_check_interval_ms = 1000;
  /// A proposal that never came back (etcd unreachable) may be made again after this.
  std::int64_t isr_proposal_retry_ms = 5000;
  /// 0: no fetcher threads (unit tests of the leader side).
  bool run_fetchers = true;
  /// Whether this broker's cluster session (etcd lease) may still be alive.
  /// Empty: always.
  std::function<bool()> session_current;
  /// A leader whose session is not current, of a partition with other
  /// replicas, none of which fetched within this, is fenced (View::fenced).
  std::int64_t fence_after_ms = 4000;
};

/// What the broker learns from the replication layer (called outside its lock).
struct ReplicaHooks {
  /// The high watermark of a partition moved (wake consumers' long polls).
  std::function<void(const std::string&, std::int32_t)> high_watermark_moved;
  /// This broker became the partition's leader in a new leader epoch
  /// (rebuild the idempotent producers' state from the replicated log).
  std::function<void(const std::string&, std::int32_t)> became_leader;
  /// Follower: appends the leader's batches (PartitionLog::append_replicated)
  /// and keeps the state derived from them (idempotent producers, open
  /// transactions) current in the same step. Empty: the fetcher appends to
  /// the log itself.
  using AppendReplicated = std::function<log::LogResult<log::AppendInfo>(std::span<std::byte>)>;
  std::function<AppendReplicated(const std::string&, std::int32_t)> replicated_appender;
  /// Follower: the log was truncated (its tail, or wholly restarted): state
  /// derived from the removed batches must go.
  std::function<void(const std::string&, std::int32_t)> truncated;
  /// Follower: the topic's id, which Fetch v13+ names it by (zero: unknown,
  /// the fetcher then asks by name). Empty: always unknown.
  std::function<kafka::Uuid(const std::string&)> topic_id;
};

enum class Role : std::uint8_t { leader, follower };

class ReplicaManager final : public ReplicaControl {
 public:
  using LogLookup = std::function<LogHandle(const std::string& topic, std::int32_t partition)>;
  /// `logs` finds the log of a partition this broker holds a replica of; an
  /// empty handle means it does not exist (yet).
  ReplicaManager(ReplicaOptions opts, IsrChangeSink& sink, LogLookup logs, ReplicaHooks hooks = {});
  ~ReplicaManager() override;  ///< stop()
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;
  /// Stops and joins the fetchers and the ISR checker; waiters are answered
  /// NOT_LEADER_OR_FOLLOWER. Idempotent.
  void stop();

  // ReplicaControl (the cluster layer)
  void apply(const std::string& topic, std::int32_t partition, const PartitionState& state) override;
  void removed(const std::string& topic, std::int32_t partition) override;
  void brokers(const std::vector<BrokerEndpoint>& live) override;
  /// Looks up the logs of partitions whose state arrived before their log.
  void attach_logs();

  /// What the broker asks before serving a request.
  struct View {
    Role role = Role::follower;
    std::int32_t leader = -1;
    std::int32_t leader_epoch = 0;
    std::size_t isr_size = 0;
    /// A leader that may have been replaced: its session is not current
    /// and no other replica fetched from it lately (cut off from etcd and
    /// its followers). It must not acknowledge writes (any acks).
    bool fenced = false;
    /// Leader: its log end when it became leader in this epoch (Kafka's
    /// leader epoch start offset), else -1. A high watermark below it is
    /// not known yet: ListOffsets answers clients OFFSET_NOT_AVAILABLE.
    std::int64_t epoch_start_offset = -1;
  };
  std::optional<View> view(const std::string& topic, std::int32_t partition) const;

  /// Leader: follower `replica_id` fetched from `fetch_offset` (= its log end).
  void on_follower_fetch(const std::string& topic, std::int32_t partition, std::int32_t replica_id,
                         std::int64_t fetch_offset);
  /// Leader: the log grew (a produce): with an ISR of one the high watermark follows at once.
  void on_leader_append(const std::string& topic, std::int32_t partition);
  /// Leader: proposes dropping followers that lagged longer than
  /// replica_lag_time_max_ms; answers the acks=all waiters of a fenced
  /// partition NOT_LEADER_OR_FOLLOWER.
  void check_isr();

  /// acks=all: `done(error)` once the high watermark passes `offset` (error 0),
  /// or NOT_LEADER_OR_FOLLOWER when this broker stops leading first. Called
  /// inline when already true; otherwise from the thread that moved the
  /// high watermark (the caller posts to its own loop).
  using HwDone = std::function<void(std::int16_t error)>;
  void wait_for_high_watermark(const std::string& topic, std::int32_t partition, std::int64_t offset, HwDone done);

  /// Follower side, used by ReplicaFetcher.
  LogHandle log_of(const std::string& topic, std::int32_t partition) const;
  std::optional<PartitionState> state_of(const std::string& topic, std::int32_t partition) const;
  /// A live broker's endpoint, as the cluster layer last listed them.
  std::optional<BrokerEndpoint> endpoint_of(std::int32_t node_id) const;
  /// After a follower append: the leader's high watermark, capped at the local log end.
  void follower_high_watermark(const std::string& topic, std::int32_t partition, std::int64_t leader_hw);

  /// Follower, from the fetchers: ReplicaHooks::replicated_appender / truncated.
  ReplicaHooks::AppendReplicated replicated_appender(const std::string& topic, std::int32_t partition) const {
    return hooks_.replicated_appender ? hooks_.replicated_appender(topic, partition) : nullptr;
  }
  void truncated(const std::string& topic, std::int32_t partition) const {
    if (hooks_.truncated) hooks_.truncated(topic, partition);
  }
  /// The topic's id (ReplicaHooks::topic_id); zero when unknown.
  kafka::Uuid topic_id(const std::string& topic) const {
    return hooks_.topic_id ? hooks_.topic_id(topic) : kafka::Uuid{};
  }

  const ReplicaOptions& options() const { return opts_; }
  std::int64_t now_ms() const;

 private:
  using Key = std::pair<std::string, std::int32_t>;
  struct Follower {
    std::int64_t log_end = -1;                  ///< last fetch offset (-1: not fetched in this term)
    std::int64_t caught_up_ms = 0;              ///< last time its log end reached the leader's
    std::int64_t last_fetch_ms = 0;
    std::int64_t leader_end_at_last_fetch = 0;  ///< the leader's log end at its previous fetch
  };
  struct Waiter {
    std::int64_t offset;
    HwDone done;
  };
  struct Replica {
    PartitionState state;
    LogHandle log;                                ///< empty until the local log exists
    std::map<std::int32_t, Follower> followers;  ///< leader only: every other replica
    std::vector<Waiter> waiters;                  ///< acks=all waiting for the high watermark
    std::int64_t isr_proposed_ms = -1;            ///< a proposal not yet come back (-1: none)
    std::int32_t led_epoch = -1;                  ///< the leader epoch this broker became leader in (-1: not leading)
    std::int64_t epoch_start_offset = -1;         ///< the log end when it became leader in led_epoch
  };
  // What a locked step leaves to do once the lock is released.
  struct After {
    std::vector<std::pair<HwDone, std::int16_t>> fired;
    std::vector<Key> hw_moved;
    std::vector<Key> new_leader;
    std::vector<std::pair<Key, PartitionState>> proposals;
  };
  void run(After& a);
  // Under mu_:
  void settle(const Key& k, Replica& r, After& a);  // role transitions after a new state or log
  void advance_high_watermark(const Key& k, Replica& r, After& a);
  void maybe_expand_isr(const Key& k, Replica& r, std::int32_t replica_id, After& a);
  bool proposal_pending(const Replica& r, std::int64_t now) const;
  bool fenced(const Replica& r) const;
  void become_leader(const Key& k, Replica& r, bool same_term);
  void become_follower(const Key& k, Replica& r, After& a);
  void update_fetchers();
  void isr_loop();

  const ReplicaOptions opts_;
  IsrChangeSink& sink_;
  const LogLookup logs_;
  const ReplicaHooks hooks_;

  mutable std::mutex mu_;
  std::map<Key, Replica> replicas_;
  std::map<std::int32_t, BrokerEndpoint> live_;                       ///< by node id
  std::map<std::int32_t, std::unique_ptr<ReplicaFetcher>> fetchers_;  ///< by leader node id
  bool stopped_ = false;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread isr_thread_;
};

}  // namespace nocopy::replication
