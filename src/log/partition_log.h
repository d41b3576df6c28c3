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
#include <vector>

#include "buf/file_region.h"
#include "log/epoch_futex.h"
#include "log/flush_scheduler.h"
#include "log/log_config.h"
#include "log/log_error.h"
#include "log/log_segment.h"

namespace nocopy::log {

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

class PartitionLog final : private FlushScheduler::Client {
 public:
  using FlushCallback = std::function<void(const LogResult<void>&)>;

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
  LogResult<AppendInfo> append(std::span<std::byte> batches, SyncBy sync_by = SyncBy::log);
  LogResult<ReadResult> read(std::int64_t offset, std::uint64_t max_bytes) const;
  // Offset of the first record with timestamp >= ts (Kafka's ListOffsets by
  // time): found through the time index, then inside the batch when it is an
  // uncompressed CreateTime batch, else that batch's base offset. nullopt
  // when no record is that recent.
  std::optional<std::int64_t> offset_for_timestamp(std::int64_t ts) const;

  std::int64_t log_start_offset() const noexcept { return log_start_.load(std::memory_order_acquire); }
  std::int64_t log_end_offset() const noexcept { return log_end_.load(std::memory_order_acquire); }
  // Every offset below this is on disk (fdatasync returned).
  std::int64_t flushed_offset() const noexcept { return flushed_.load(std::memory_order_acquire); }
  // Counters of the group-commit syncs (flusher runs and waiters that led
  // one) and of the commit delay.
  struct FlushStats {
    std::uint64_t syncs = 0;            // group syncs (not append()'s own, group_commit = false)
    std::uint64_t led = 0;              // ... of them done by a wait_flushed() thread
    std::uint64_t waiters_covered = 0;  // waiters pending when those syncs started
    std::uint64_t delays = 0;           // syncs that first waited for waiters (the commit delay)
    std::uint64_t delay_timeouts = 0;   // ... and started before all of them came
    std::uint64_t delay_ns = 0;         // total time spent waiting
    std::uint64_t sync_ns = 0;          // total time in the syncs
  };
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
  // retention_ms, retention_bytes, retention_rolls_expired_active and
  // max_message_bytes -- from the next append, roll or retention pass on
  // (as Kafka applies a topic's config change to its open logs). A smaller
  // segment_bytes rolls the active segment at the next append that does not
  // fit; existing segments are not rewritten. Every other field (write mode,
  // flush policy, indexes, clock, scheduler) stays as opened. Throws
  // std::invalid_argument for segment_bytes outside [1024, 2^31-1].
  // Thread-safe.
  void reconfigure(const LogConfig& limits);

 private:
  PartitionLog(std::filesystem::path dir, LogConfig config);
  void load();
  std::int64_t now_ms() const;
  LogSegment::Options segment_options() const;
  std::shared_ptr<LogSegment> active() const;
  std::shared_ptr<LogSegment> segment_for(std::int64_t offset) const;  // nullptr when below start
  LogResult<void> roll_locked();
  // Roll by age. `now`: wall ms, read by append() only with an injected clock.
  bool age_roll_due(const LogSegment& seg, std::int64_t now) const noexcept;
  void arm_age_deadline(std::int64_t base);  // after the first append to segment `base`; under append_mu_
  void reset_age_deadline();                 // segment_ms changed; under append_mu_
  void check_age_deadline() noexcept;        // flusher run: mark the segment due, or re-arm the timer
  void schedule_run_at(std::int64_t due_ns);  // a flusher run at steady ns `due_ns` (one timer per log)
  void schedule_age_timer(std::int64_t due);  // steady ns; not for an injected clock or INT64_MAX
  LogResult<void> sync_segments_upto(std::int64_t target);
  void run_flush_work() noexcept override;  // FlushScheduler::Client
  void arm_interval_timer();
  // Moves flushed_ (or records the error), releases the waiters it covers.
  // `sync`: the group sync that ends here (clears syncing_, records stats).
  struct SyncDone {
    std::size_t covered = 0;
    std::int64_t took_ns = 0;
    bool led = false;
  };
  void complete_flush(std::int64_t flushed, const std::optional<LogError>& err,
                      const std::optional<SyncDone>& sync = std::nullopt);
  // flush_mu_ held by lk, syncing_ false: syncs everything appended so far
  // (syncing_ set meanwhile, lk released) and returns with lk held. True when
  // a flusher run asked for meanwhile must now be scheduled.
  bool group_sync(std::unique_lock<std::mutex>& lk, bool led);
  // How long a waiter arriving now gathers others before leading a sync
  // (0: lead at once). flush_mu_ held.
  std::int64_t gather_bound_ns() const;
  // The commit delay (FlushPolicy::group_commit_delay_us): called with
  // flush_mu_ held before a group-commit sync; may wait on gather_cv_.
  void gather_waiters(std::unique_lock<std::mutex>& lk);
  void wake_gatherer();  // flush_mu_ held; a waiter was added
  // Waiters no sync has covered yet: blocked threads + callbacks. flush_mu_ held.
  std::size_t pending_waiters() const { return blocked_waiters_.size() + waiters_.size(); }
  void wake_flush_waiters();  // bumps flush_epoch_ and wakes wait_flushed()
  // Asks for a flusher run that syncs below `upto`: at once, or with
  // `within_delay` (every_append + group commit with a commit delay) by a
  // backstop timer due within the delay, so that a waiter coming meanwhile
  // leads the sync sooner and the run finds nothing to do.
  void request_flush(std::int64_t upto, bool within_delay = false);
  LogResult<void> write_recovery_point(std::int64_t offset);
  std::shared_ptr<LogSegment> next_segment(std::int64_t base) const;
  void fsync_dir();

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
  LogSegment* active_seg_ = nullptr;              // segments_' last; under append_mu_ (the append path's shortcut)
  std::atomic<std::int64_t> log_start_{0};
  std::atomic<std::int64_t> log_end_{0};
  std::atomic<std::int64_t> flushed_{0};
  bool closed_ = false;                        // under append_mu_
  std::optional<LogError> failed_;             // sticky sync failure; under append_mu_
  std::int64_t unflushed_messages_ = 0;        // under append_mu_

  // Flusher: group commit and flush waiters. The work runs on scheduler_'s
  // threads (run_flush_work), one at a time for this log.
  std::shared_ptr<FlushScheduler> scheduler_;
  FlushScheduler::Handle flush_handle_;
  mutable std::mutex flush_mu_;
  // Bumped (then notified) after flushed_, flush_error_, stop_flusher_ or
  // syncing_ changed: wait_flushed() threads wait on it (a futex, no mutex
  // to re-acquire on wakeup).
  EpochFutex flush_epoch_;
  bool syncing_ = false;                 // a group sync runs (flusher or a leading waiter); under flush_mu_
  bool rerun_after_sync_ = false;       // a flusher run found syncing_: the syncer reschedules it
  std::int64_t gather_start_ns_ = -1;    // waiters gather for a sync they will lead since (steady ns), or -1
  bool gather_timed_ = false;            // a gathering waiter sleeps with the deadline
  std::atomic<bool> backstop_armed_{false};  // request_flush(within_delay)'s timer is pending
  std::int64_t flush_requested_ = 0;     // sync everything below this
  bool stop_flusher_ = false;
  // FlushPolicy::Mode::interval with ms > 0: armed by the first append after a
  // flush, due flush.ms later (steady clock, ns); cleared by the run that
  // syncs.
  // timer_due_ns_ is kNoDue from the run that clears the timer until the
  // append that arms it next has computed the deadline.
  static constexpr std::int64_t kNoDue = std::numeric_limits<std::int64_t>::max();
  std::atomic<bool> timer_armed_{false};
  std::atomic<std::int64_t> timer_due_ns_{kNoDue};
  // Roll by age (segment_ms) without reading the clock on every append: a
  // segment's first append arms a deadline on the steady clock; the flusher
  // run that finds it passed marks the segment due, and the next append to
  // it rolls. (With an injected LogConfig::clock, append compares instead.)
  std::mutex age_mu_;                          // guards the three below
  std::int64_t age_base_ = -1;                 // the segment the deadline is for (-1: none yet)
  std::int64_t age_first_ns_ = 0;              // its first append (steady ns)
  std::int64_t age_due_ns_ = 0;                // + segment_ms (INT64_MAX: never)
  std::atomic<std::int64_t> age_due_base_{-1};  // the segment past its deadline (set under age_mu_)
  std::optional<LogError> flush_error_;
  std::multimap<std::int64_t, FlushCallback> waiters_;  // offset -> callback
  // Commit delay (FlushPolicy::group_commit_delay_us), all under flush_mu_:
  std::multiset<std::int64_t> blocked_waiters_;  // offset + 1 of each wait_flushed() thread not yet covered
  std::size_t last_sync_waiters_ = 0;    // waiters the last sync covered
  std::int64_t last_sync_ns_ = 0;        // how long it took
  FlushStats flush_stats_;
  bool gathering_ = false;               // a run waits on gather_cv_
  std::condition_variable gather_cv_;    // a waiter arrived, or stop
  std::shared_ptr<LogSegment> to_prefault_;  // mmap mode: a new segment the flusher warms (a chunk per run)
  std::atomic<bool> sync_failed_{false};
  std::mutex checkpoint_mu_;
  std::int64_t checkpointed_ = 0;        // last recovery point written; under checkpoint_mu_
  std::int64_t dir_synced_base_ = -1;    // newest segment whose directory entry is synced; under checkpoint_mu_
};

}  // namespace nocopy::log
