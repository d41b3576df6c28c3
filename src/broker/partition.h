// Partition: one topic-partition as the broker sees it -- a PartitionLog plus
// the waiting rooms that hang off it (fetches waiting for data, acks=-1
// produces waiting for the flusher).
//
// Thread-safety: every member function may be called from any reactor thread.
// Appends are serialized by the log's append lock (a page-cache write, never
// a sync); reads go to the log's published end without waiting for appends.
// Wake-ups are delivered by posting to the waiter's own EventLoop, so a waiter
// runs on the thread that owns its connection.
#pragma once

#include <cstdint>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "broker/config.h"
#include "broker/producer_state.h"
#include "buf/file_region.h"
#include "log/partition_log.h"
#include "log/txn_tracker.h"

namespace nocopy::log {
class PartitionLog;
}
namespace nocopy::net {
class EventLoop;
}

namespace nocopy::broker {

class Metrics;

class Partition {
 public:
  // Opens (recovering) or creates the log in `dir`. Throws std::system_error /
  // std::runtime_error on setup failure. Call on a non-reactor thread.
  Partition(std::string topic, std::int32_t index, std::filesystem::path dir, const Config& cfg, Metrics* metrics);
  ~Partition();
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  const std::string& topic() const { return topic_; }
  std::int32_t index() const { return index_; }
  const std::filesystem::path& dir() const { return dir_; }

  struct AppendResult {
    std::int16_t error = 0;
    std::int64_t base_offset = -1;
    std::int64_t last_offset = -1;
    std::int64_t log_append_time = -1;
    std::string message;  // why an INVALID_RECORD / CORRUPT_MESSAGE batch was refused
  };
  // Validates (magic 2, one batch; the log checks the CRC-32C and
  // max.message.bytes) and appends one RecordBatch,
  // patching its baseOffset in place. Wakes fetch waiters on success.
  // Transactional batches (attribute bit 4) open the producer's transaction
  // here (the LSO stops at it) until its marker; control batches from a
  // client are INVALID_RECORD (87).
  // Idempotent producers (producerId >= 0): a retried batch already among the
  // producer's last 5 is answered with its original offsets and not appended
  // again; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER (45), an old epoch
  // INVALID_PRODUCER_EPOCH (47). Producer state survives a restart exactly
  // (rebuild_producer_state); a producer forgotten by expiry is accepted at
  // any sequence (see producer_state.h).
  // `will_wait`: the caller then calls on_flushed() for it (acks=all), which
  // starts its sync; otherwise a flush-every-append log schedules one itself.
  // `leader_epoch` >= 0 (cluster mode, this broker leads): stamped into the
  // batch and recorded in the log's leader-epoch cache.
  AppendResult append(std::span<std::byte> batch, bool will_wait = false, std::int32_t leader_epoch = -1);

  struct ReadResult {
    std::int16_t error = 0;
    std::vector<buf::FileRegion> regions;
    std::uint64_t bytes = 0;
  };
  // Regions of whole batches from the batch containing `offset`, up to
  // max_bytes (the first batch whole even if larger, KIP-74), below the
  // high watermark -- or, for a follower replica (`to_log_end`), below the
  // log end. offset at or past that limit: no regions, no error.
  ReadResult read(std::int64_t offset, std::uint32_t max_bytes, bool to_log_end = false) const;

  // read() for isolation_level=read_committed: the same regions, cut at the
  // last stable offset (never a byte of an open transaction). Record bytes
  // are still never read: the cut position is the LSO batch's position.
  ReadResult read_committed(std::int64_t offset, std::uint32_t max_bytes) const;

  // --- transactions (log/txn_tracker.h) -------------------------------------
  // Appends a COMMIT or ABORT marker of (producer_id, epoch) -- the
  // transaction coordinator's call. A marker of an epoch older than the one
  // the partition knows is INVALID_PRODUCER_EPOCH (47); a newer one fences
  // the older epoch's batches. A coordinator epoch older than that of the
  // producer's last marker appended here is TRANSACTION_COORDINATOR_FENCED
  // (52): a coordinator that lost its __transaction_state partition to a
  // newer leader. `leader_epoch` >= 0 stamps the batch (a replicated
  // partition's leader); `offset`, when given, receives the marker's offset.
  // Wakes fetch waiters (the LSO moved).
  std::int16_t append_marker(std::int64_t producer_id, std::int16_t epoch, bool commit,
                             std::int32_t coordinator_epoch, std::int32_t leader_epoch = -1,
                             std::int64_t* offset = nullptr);
  // Whether `producer_id` has a transaction open here at `epoch` (a batch of
  // it continues that transaction).
  bool in_transaction(std::int64_t producer_id, std::int16_t epoch);
  // First offset of the earliest open transaction, else the high watermark.
  std::int64_t last_stable_offset() const;
  // The aborted transactions a read_committed fetch from `from` reports.
  std::vector<log::AbortedTxn> aborted_transactions(std::int64_t from, std::int64_t upper) const;
  // Open transactions: producer id -> first offset.
  std::map<std::int64_t, std::int64_t> open_transactions() const { return txns_->open_transactions(); }

  // The end of what consumers may read: the log end on a single node, the
  // offset replicated to every in-sync replica in a cluster.
  std::int64_t high_watermark() const;
  std::int64_t log_end_offset() const;
  std::int64_t log_start_offset() const;
  // The high watermark moved (cluster mode): wakes fetches waiting for data
  // as an append does.
  void notify_high_watermark() { wake_appended(); }
  // This broker became the partition's leader (cluster mode): its follower
  // appends did not go through append(), so the idempotent producers' state
  // is learnt again from the log's last kRelearnOffsets offsets, which the
  // previous leader wrote; a retried batch it already holds is then
  // answered as a duplicate.
  void relearn_producers();
  // Follower (cluster mode): appends the leader's batches
  // (PartitionLog::append_replicated) and replays their headers into the
  // idempotent producers' state and the open transactions in the same step,
  // so the last stable offset, producer snapshots and a later leadership
  // start from the replicated log.
  log::LogResult<log::AppendInfo> append_replicated(std::span<std::byte> batches);
  // Follower: the log was truncated. Producer snapshots past its new end
  // are removed (they describe batches no longer there) and the producer
  // and transaction state is rebuilt from the newest snapshot left.
  void on_truncated();
  // Earliest offset whose timestamp >= ts, or -1 when none.
  std::int64_t offset_for_timestamp(std::int64_t ts) const;
  std::int64_t flushed_offset() const;  // everything below is durable

  // Runs `fn` on `loop` after the next append (once). Registration and the
  // append race benignly: register, then re-check the log.
  // `owner` expiring cancels the registration (pruned lazily).
  void on_next_append(net::EventLoop* loop, std::weak_ptr<void> owner, std::function<void()> fn);
  // Runs `fn(error)` on `loop` once the flusher has dealt with `offset`:
  // error 0 when flushed_offset() > offset (immediately posted if already
  // so); KAFKA_STORAGE_ERROR (56) when the log's sync failed (the log then
  // refuses appends, see log::PartitionLog) or the log closed first.
  // Never blocks and never syncs on the calling thread.
  using FlushDone = std::function<void(std::int16_t error)>;
  void on_flushed(std::int64_t offset, net::EventLoop* loop, FlushDone fn);

  // Test seam: when set, on_flushed() hands (offset, complete) to `n`
  // instead of the log's flusher; `n` decides when (or whether) to call
  // complete(error) and from which thread. Set before the partition is
  // shared; not synchronized.
  using FlushNotifier = std::function<void(std::int64_t offset, std::function<void(std::int16_t)> complete)>;
  void set_flush_notifier_for_testing(FlushNotifier n) { test_flush_notifier_ = std::move(n); }

  // Syncs everything appended so far (shutdown; flusher thread).
  void flush();
  // Writes a producer snapshot and the clean-shutdown state; closes files.
  void close();
  // Retention pass (background thread): producer-state expiry, a producer
  // snapshot when the log grew since the last one, and the log's
  // retention.ms / retention.bytes when `delete_segments` (the topic's
  // cleanup.policy holds delete; a compact-only topic keeps its segments).
  void enforce_retention(bool delete_segments = true);
  // Stores the producer and transaction state as of the log end
  // (producer_snapshot.h), unless the newest snapshot is already there.
  void write_producer_snapshot();
  // The log itself (the log cleaner's input; log::PartitionLog is thread-safe).
  log::PartitionLog& log() { return *log_; }
  // Applies a changed topic config to the open partition's log:
  // max.message.bytes from the next append, segment.bytes / retention.* from
  // the next roll / retention pass (log::PartitionLog::reconfigure). The flush policy stays as opened.
  // Thread-safe; throws std::invalid_argument for an unusable segment size.
  void reconfigure(const Config& cfg);
  // Idempotent producers whose state this partition keeps (expired ones
  // leave at retention passes: Config::producer_id_expiration_ms).
  std::size_t producer_count();

 private:
  struct Waiter {
    net::EventLoop* loop;
    std::weak_ptr<void> owner;
    std::function<void()> fn;
  };
  void wake_appended();
  // Rebuilds the producer sequence state and the open transactions exactly,
  // as Kafka does: the newest usable producer snapshot, then the batch
  // headers after it (without a snapshot, every batch from the log start),
  // so a retry that straddles a restart is still a duplicate and a
  // transaction open since long before the restart is still open. The same
  // replay indexes aborts missing from the .txnindex.
  void rebuild_producer_state();
  // Loads the newest snapshot that is within the log and agrees with the
  // transaction index; returns the offset to replay from (the log start
  // when none does). The caller holds snapshot_mu_.
  std::int64_t restore_snapshot();
  // Replays the batch headers from `from` to the log end into producers_
  // and txns_; returns how many batches it read.
  // `with_txns` false: the producers only.
  std::size_t replay_batches(std::int64_t from, bool with_txns = true);
  static constexpr std::int64_t kRelearnOffsets = 200000;
  std::int64_t segment_base_of(std::int64_t offset) const;
  static std::int64_t wall_ms();

  std::mutex producers_mu_;  // check + append + record as one step
  ProducerStateManager producers_;
  // The coordinator epoch of each producer's last marker appended by this
  // broker (guarded by producers_mu_). Kept in memory only: a restarted or
  // newly elected leader accepts the first marker of any coordinator epoch.
  std::unordered_map<std::int64_t, std::int32_t> marker_coordinator_epochs_;
  std::string topic_;
  std::int32_t index_;
  std::filesystem::path dir_;
  const Config& cfg_;  // as opened; the log's limits follow reconfigure()
  Metrics* metrics_;
  std::unique_ptr<log::PartitionLog> log_;
  std::unique_ptr<log::TransactionTracker> txns_;
  FlushNotifier test_flush_notifier_;
  std::mutex snapshot_mu_;             // one snapshot written at a time
  std::int64_t snapshot_offset_ = -1;  // of the newest snapshot; guarded by snapshot_mu_

  std::mutex waiters_mu_;
  std::vector<Waiter> waiters_;  // guarded by waiters_mu_
  std::size_t prune_at_ = 64;    // guarded by waiters_mu_
};

}  // namespace nocopy::broker
