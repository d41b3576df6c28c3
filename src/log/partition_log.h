// One partition's durable log: a sequence of Segments in one directory.
//
// Directory layout (Kafka's):
//   00000000000000000000.log / .index / .timeindex   one triple per segment
//   recovery-point-offset-checkpoint                  "0\n1\n<offset>\n": every
//                                                     offset below is on disk
//   .clean_shutdown                                   present only after close()
//
// Contract:
//  * append(batches) validates every batch of the request first (magic 2,
//    sizes, CRC-32C, lastOffsetDelta + 1 == recordsCount, size limits), then
//    assigns offsets by patching baseOffset *in the caller's buffer*, writes
//    the whole request into one segment and publishes it. A rejected request
//    appends nothing (the caller's buffer is patched only once validation
//    passed). A write error (ENOSPC, EFBIG, EIO) appends nothing either; the
//    log stays readable and later appends work again once space is back.
//    Under TimestampType::log_append_time each batch is also stamped in the
//    caller's buffer (maxTimestamp = append time, attribute bit 3, CRC
//    recomputed), after validation, as Kafka's broker does.
//  * append() never waits for the disk. Durability: wait_flushed(offset)
//    blocks; request_flush_notification(offset, cb) calls back (on a flusher
//    thread, or inline when already durable) -- the broker posts the
//    callback to its reactor. Either one makes the flusher sync even under
//    FlushPolicy::Mode::never. With FlushPolicy::Mode::every_append the flusher group-commits:
//    one fdatasync covers everything appended while the previous one ran.
//  * The flusher is not a thread of the log's own: its work (syncs, interval
//    flushes, mmap prefault) runs on a FlushScheduler pool shared by every
//    log (LogConfig::flush_scheduler, default FlushScheduler::shared()), at
//    most one pool thread per log at a time. close() detaches the log from
//    the pool and waits for a run in progress, so no sync starts after
//    close() and the pool never touches a destroyed log. A flush callback
//    runs on a pool thread: it must be short (the broker only posts to its
//    reactor) and must not close or destroy the log.
//  * read(offset, max_bytes) returns FileRegions (no copies) starting at the
//    batch containing `offset`, at most max_bytes except that the first batch
//    is always whole (KIP-74); like Kafka the last region may end inside a
//    batch (clients drop the partial tail). Regions never go past the
//    committed end and continue across segment boundaries.
//  * Recovery on open: without .clean_shutdown, every segment from the
//    recovery point on is validated batch by batch, its indexes rebuilt and
//    the log truncated at the first invalid batch; later segments are deleted.
//    What was dropped and why is logged (spdlog) and kept in
//    recovery_report(); corruption before the end of the log is an error
//    (report.mid_log_corruption), never silently skipped.
//
// Thread-safety: append, roll, enforce_retention, flush, close are serialized
// internally (one append lock); read, offset_for_timestamp, the offset
// getters and the flush-wait calls may be called from any thread at any time
// and never wait for an append in progress.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "buf/file_region.h"
#include "log/age_roll.h"
#include "log/flush_scheduler.h"
#include "log/flusher.h"
#include "log/leader_epoch_cache.h"
#include "log/log_config.h"
#include "log/log_error.h"
#include "log/log_segment.h"

namespace nocopy::log {

// A record found by timestamp: its offset and timestamp (a LogAppendTime
// batch's records all carry the batch's max timestamp) and its batch's
// partitionLeaderEpoch. The log looks inside uncompressed batches only:
// `exact` is false for a compressed CreateTime batch, and then offset is
// the batch's base offset, timestamp its max timestamp -- a caller that
// decompresses (broker::BatchDecompressor) finds the record itself.
struct FoundRecord {
  std::int64_t timestamp = -1;
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  bool exact = true;
  bool operator==(const FoundRecord&) const = default;
};

struct AppendInfo {
  std::int64_t base_offset = 0;    // offset given to the first record of the request
  std::int64_t last_offset = 0;    // offset of its last record
  std::int64_t max_timestamp = -1;
  std::int64_t log_start_offset = 0;
  std::uint32_t batches = 0;
  std::uint64_t bytes = 0;
  // LogAppendTime: the time stamped into every batch (Kafka's produce
  // response log_append_time_ms); -1 under CreateTime.
  std::int64_t log_append_time = -1;
};

struct ReadResult {
  std::vector<buf::FileRegion> regions;  // in log order; empty when offset == log end
  std::uint64_t bytes = 0;               // sum of region lengths
  std::int64_t high_watermark = 0;       // log end offset seen by this read
  std::int64_t log_start_offset = 0;
};

struct RecoveryReport {
  bool clean_shutdown = false;
  std::int64_t recovery_point = 0;
  std::size_t segments_scanned = 0;
  std::size_t indexes_rebuilt = 0;
  std::uint64_t bytes_truncated = 0;
  std::vector<std::int64_t> segments_deleted;  // base offsets dropped after a corrupt one
  bool mid_log_corruption = false;             // invalid bytes followed by more log
  std::vector<std::string> messages;           // one line per event, as logged
};

struct RetentionResult {
  std::size_t segments_deleted = 0;
  std::uint64_t bytes_deleted = 0;
  std::int64_t log_start_offset = 0;
};

class PartitionLog final : private FlushScheduler::Client, private Flusher::Target {
 public:
  using FlushCallback = Flusher::FlushCallback;

  // Opens (creating the directory when needed) and recovers. Throws
  // std::system_error for setup failures and std::invalid_argument for a
  // bad config.
  static std::unique_ptr<PartitionLog> open(const std::filesystem::path& dir, LogConfig config);
  ~PartitionLog();  // close()
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Who starts the sync of an append under FlushPolicy::Mode::every_append with
  // group commit: the log (a flusher run; with a commit delay, within
  // group_commit_delay_us, sooner when a waiter comes), or the caller, which
  // then waits for it -- wait_flushed() (it may lead the sync itself) or
  // request_flush_notification() -- so no background sync is scheduled for
  // it. A caller that says so and never waits leaves the append unsynced
  // until the next sync or close(). Other flush modes ignore it.
  enum class SyncBy : std::uint8_t { log, caller };
  // `leader_epoch` >= 0 (a replicated partition's leader): each batch's
  // partitionLeaderEpoch is set to it (outside the CRC, like baseOffset) and
  // a new epoch is recorded in the leader-epoch cache at the request's base
  // offset. -1 (single node): the batches keep what the producer sent.
  LogResult<AppendInfo> append(std::span<std::byte> batches, SyncBy sync_by = SyncBy::log,
                               std::int32_t leader_epoch = -1);
  // Reads as described above; regions end before the first batch that holds
  // an offset >= `upto` (the high watermark for consumers; kLogEnd: up to
  // the log end). offset >= upto (and <= log end): no regions, no error.
  static constexpr std::int64_t kLogEnd = std::numeric_limits<std::int64_t>::max();
  LogResult<ReadResult> read(std::int64_t offset, std::uint64_t max_bytes, std::int64_t upto = kLogEnd) const;
  // The first record with timestamp >= ts (Kafka's ListOffsets by time),
  // found through the time index, then inside its batch. nullopt when no
  // record is that recent.
  std::optional<FoundRecord> record_for_timestamp(std::int64_t ts) const;
  // The first record that carries the log's largest timestamp (ListOffsets
  // MAX_TIMESTAMP, -3): in the first segment whose max timestamp is the
  // largest, its first batch with that max timestamp. nullopt when no batch
  // has a timestamp (>= 0).
  std::optional<FoundRecord> max_timestamp_record() const;
  // record_for_timestamp(ts)'s offset (inexact: the batch's base offset).
  std::optional<std::int64_t> offset_for_timestamp(std::int64_t ts) const {
    auto r = record_for_timestamp(ts);
    return r ? std::optional<std::int64_t>(r->offset) : std::nullopt;
  }

  std::int64_t log_start_offset() const noexcept { return log_start_.load(std::memory_order_acquire); }
  std::int64_t log_end_offset() const noexcept { return log_end_.load(std::memory_order_acquire); }

  // --- replication (partition_log_replica.cc) ---------------------------------
  // The high watermark: the offset below which every record is replicated to
  // the in-sync replicas, the end of what consumers may read. Until
  // set_high_watermark() is called (and again after follow_log_end()), it is
  // the log end offset: a single-node log has nothing to wait for.
  std::int64_t high_watermark() const noexcept {
    const std::int64_t hw = high_watermark_.load(std::memory_order_acquire);
    return hw < 0 ? log_end_offset() : hw;
  }
  // Sets the high watermark, clamped to [log start, log end]; returns the
  // value stored. The caller (the replication layer) keeps it monotonic.
  std::int64_t set_high_watermark(std::int64_t hw);
  void follow_log_end() noexcept { high_watermark_.store(-1, std::memory_order_release); }
  bool tracks_high_watermark() const noexcept { return high_watermark_.load(std::memory_order_acquire) >= 0; }

  // A follower's append of the leader's batches, offsets kept as the leader
  // assigned them (nothing in the buffer is changed): every batch is
  // validated as append() does (control batches allowed), the first must
  // start at or after the log end and each next one after the one before
  // (compacted logs have gaps). Each batch whose partitionLeaderEpoch is
  // newer than the cache's latest is recorded in the leader-epoch cache.
  LogResult<AppendInfo> append_replicated(std::span<std::byte> batches);

  // Removes every record at or after `offset` (a follower's divergent tail).
  // A batch that holds `offset` goes whole (the log then ends at its base
  // offset, as Kafka's truncateTo). Segments past it are removed; the
  // segment that holds it is rewritten with its kept prefix as a new file
  // (<base>.log.truncated, then renamed over the .log), so readers holding
  // regions or mappings of the old file keep valid bytes. Crash-safe: open()
  // finishes a rename it finds half done and recovery rescans from the
  // lowered recovery point. The high watermark, the flushed offset, the
  // recovery point and the leader-epoch cache follow. Returns the new log
  // end. offset >= log end: nothing changes.
  LogResult<std::int64_t> truncate_to(std::int64_t offset);
  // Removes every segment and starts the log empty at `offset` (a follower
  // whose log ends below the leader's log start).
  LogResult<void> truncate_fully_and_start_at(std::int64_t offset);

  // The leader-epoch cache (`leader-epoch-checkpoint`), and
  // OffsetForLeaderEpoch's answer from it against the current log end.
  LeaderEpochCache& leader_epochs() noexcept { return *epochs_; }
  EpochEndOffset end_offset_for_epoch(std::int32_t epoch) const {
    return epochs_->end_offset_for(epoch, log_end_offset());
  }
  // Every offset below this is on disk (fdatasync returned).
  std::int64_t flushed_offset() const noexcept { return flusher_.flushed(); }
  // Counters of the group-commit syncs (flusher runs and waiters that led
  // one) and of the commit delay.
  using FlushStats = Flusher::Stats;
  FlushStats flush_stats() const;
  std::uint64_t size_bytes() const;
  std::size_t segment_count() const;
  std::vector<std::int64_t> segment_base_offsets() const;
  const std::filesystem::path& dir() const noexcept { return dir_; }
  const RecoveryReport& recovery_report() const noexcept { return report_; }

  // Starts a new segment now (no-op when the active one is empty).
  LogResult<void> roll();
  // Deletes whole old segments beyond retention_bytes / older than
  // retention_ms (by their max timestamp). Never deletes the active segment,
  // unless LogConfig::retention_rolls_expired_active: then, as Kafka, an
  // active segment wholly older than retention_ms is rolled and deleted
  // (log start == log end after). The files are renamed to .deleted under
  // the append lock and unlinked after it is released, so appends never wait
  // for the filesystem to free a segment.
  LogResult<RetentionResult> enforce_retention(std::optional<std::int64_t> now_ms = std::nullopt);

  // Syncs everything appended so far; returns once it is on disk.
  LogResult<void> flush();
  // Blocks until offset `offset` is on disk (or the log failed/closed).
  // The calling thread does the sync itself when no other sync is in
  // progress (it leads a group commit: one fdatasync covers every append so
  // far, and releases every waiter it covers); with the commit delay it first
  // waits, as the flusher would, for as many waiters as the last sync had.
  LogResult<void> wait_flushed(std::int64_t offset);
  // Calls `cb` once offset `offset` is on disk: inline when it already is,
  // otherwise from the thread that completed the sync (a flusher pool thread,
  // or a thread leading one in wait_flushed()). Never blocks.
  void request_flush_notification(std::int64_t offset, FlushCallback cb);

  // Flushes, trims the active segment, writes the recovery point and the
  // clean-shutdown marker. Idempotent. Later appends fail with `closed`.
  void close();

  // Changes the limits of an open log -- segment_bytes, segment_ms,
  // retention_ms, retention_bytes, retention_rolls_expired_active,
  // max_message_bytes and timestamp_type -- from the next append, roll or
  // retention pass on
  // (as Kafka applies a topic's config change to its open logs). A smaller
  // segment_bytes rolls the active segment at the next append that does not
  // fit; existing segments are not rewritten. Every other field (write mode,
  // flush policy, indexes, clock, scheduler) stays as opened. Throws
  // std::invalid_argument for segment_bytes outside [1024, 2^31-1].
  // Thread-safe.
  void reconfigure(const LogConfig& limits);

  // --- log compaction (log_cleaner.h) ---------------------------------------
  // The sealed segments (every one but the active), oldest first.
  std::vector<std::shared_ptr<const LogSegment>> sealed_segments() const;
  // segment.bytes as configured now (a cleaned segment holds at most this).
  std::uint64_t segment_bytes() const;
  // Fault injection for tests: called with the name of each step of a swap
  // as it completes (cleaner_swap.h lists them).
  using SwapHook = std::function<void(std::string_view step)>;
  // Replaces the sealed segments whose bases are exactly `replaced` (all in
  // [base, end), base == replaced.front(), end <= the active segment's base)
  // by the cleaned segment the cleaner wrote as <base>.log.cleaned with its
  // <base>.swapend.cleaned (cleaner_swap.h: the steps and their recovery),
  // under the append lock. Readers holding regions or segments of the old
  // ones keep reading them (the files are unlinked, the inodes live on).
  // Fails (removing the .cleaned files) when the segments changed meanwhile
  // (retention, another swap) or the log is closed.
  LogResult<void> swap_cleaned(std::int64_t base, std::int64_t end, std::span<const std::int64_t> replaced,
                               const SwapHook& hook = {});

 private:
  PartitionLog(std::filesystem::path dir, LogConfig config);
  // Opening: the directory's leftovers, the recovery point, each segment
  // recovered or trusted, the active one.
  std::vector<std::int64_t> remove_leftovers();
  std::int64_t read_recovery_point();
  void load();
  void recover_segments(const std::vector<std::int64_t>& bases, bool clean, std::int64_t recovery_point);
  void report_scan(std::int64_t base, const ScanOutcome& out, bool last);
  void note(int level, std::string msg);  // spdlog level + report_.messages
  std::int64_t now_ms() const;
  LogSegment::Options segment_options() const;
  std::shared_ptr<LogSegment> active() const;
  std::shared_ptr<LogSegment> segment_for(std::int64_t offset) const;  // nullptr when below start
  std::shared_ptr<LogSegment> next_segment(std::int64_t base) const;
  // append()'s steps: validation (outside the lock), the segment it goes
  // into (rolling first when needed), offsets (and LogAppendTime) patched
  // into the caller's buffer, the sync the flush policy asks for.
  struct Request {
    std::int64_t records = 0;
    std::int64_t max_timestamp = -1;
  };
  LogResult<Request> validate(std::span<std::byte> batches, std::vector<AppendedBatch>& infos) const;
  LogResult<LogSegment*> segment_to_append(std::size_t bytes, std::int64_t records, std::int64_t& now);
  std::int64_t assign_offsets(std::span<std::byte> batches, std::span<AppendedBatch> infos, std::int64_t base,
                              std::int64_t append_time, std::int32_t leader_epoch) const;
  LogResult<void> sync_appended(LogSegment& seg, std::int64_t end, std::int64_t records, SyncBy sync_by);
  LogResult<LogSegment*> segment_to_append_outlined(std::size_t bytes, std::int64_t records, std::int64_t& now);
  LogResult<void> sync_appended_outlined(LogSegment& seg, std::int64_t end, std::int64_t records);
  LogResult<void> roll_locked();
  void schedule_age(std::int64_t due);  // a flusher run at AgeRoll's deadline (kNever: none)
  void run_flush_work() noexcept override;  // FlushScheduler::Client
  // Flusher::Target
  LogResult<void> sync_range(std::int64_t from, std::int64_t to) override;
  void flushed_to(std::int64_t flushed) override;  // moves the recovery point past whole segments
  LogResult<void> write_recovery_point(std::int64_t offset);
  void fsync_dir();
  // truncate_to's steps (partition_log_replica.cc), under append_mu_.
  LogResult<void> validate_replicated(std::span<std::byte> batches, std::vector<AppendedBatch>& infos,
                                      std::int64_t log_end) const;
  LogResult<std::shared_ptr<LogSegment>> rewrite_prefix(const LogSegment& seg, std::uint64_t keep);
  void after_truncation(std::int64_t new_end, std::int64_t new_start);
  void record_epochs(std::span<const std::byte> batches);
  // open(): finishes a truncation rename a crash interrupted.
  void finish_truncations();

  const std::filesystem::path dir_;
  // Fixed at open, except the limits reconfigure() changes under append_mu_
  // (only read under it, or before the log is shared).
  LogConfig config_;
  RecoveryReport report_;
  // config_.max_message_bytes, read by append() before it takes the lock.
  std::atomic<std::uint32_t> max_message_bytes_;

  mutable std::mutex append_mu_;               // writers: append/roll/retention/close
  mutable std::shared_mutex segments_mu_;      // guards segments_ (readers: shared, briefly)
  std::map<std::int64_t, std::shared_ptr<LogSegment>> segments_;
  LogSegment* active_seg_ = nullptr;           // segments_' last; under append_mu_ (the append path's shortcut)
  std::atomic<std::int64_t> log_start_{0};
  std::atomic<std::int64_t> log_end_{0};
  std::atomic<std::int64_t> high_watermark_{-1};  // -1: follows log_end_
  std::unique_ptr<LeaderEpochCache> epochs_;     // made by load()
  bool closed_ = false;                        // under append_mu_

  // When appends are synced, group commit, the flush waiters; its work runs
  // on a FlushScheduler pool (run_flush_work), one run at a time for this log.
  Flusher flusher_;
  AgeRoll age_roll_;                           // roll by segment_ms
  std::mutex prefault_mu_;
  std::shared_ptr<LogSegment> to_prefault_;    // mmap mode: a new segment the flusher warms (a chunk per run)
  std::mutex checkpoint_mu_;
  std::int64_t checkpointed_ = 0;        // last recovery point written; under checkpoint_mu_
  std::int64_t dir_synced_base_ = -1;    // newest segment whose directory entry is synced; under checkpoint_mu_
};

}  // namespace nocopy::log
