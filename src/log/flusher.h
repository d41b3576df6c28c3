// The flusher of one PartitionLog: when its appends are synced (the flush
// policy, the interval timer), group commit (one fdatasync covers every
// append made meanwhile; the commit delay gathers waiters first), and the
// waiters a sync releases -- threads blocked in wait_flushed() and
// notification callbacks.
//
// Contract:
//  * The flusher does not know segments: it asks its Target to sync
//    [flushed, log end) and tells it how far a sync got (the log moves its
//    recovery point). The log end it syncs up to is the log's atomic, which
//    the log publishes after each append.
//  * Its background work runs on a FlushScheduler pool: the log attaches
//    (attach(), the log stays the pool's client) and calls run() from its
//    run_flush_work(). schedule()/schedule_at() ask the pool for a run of the
//    log, for the flusher's timers and for the log's own (roll by age,
//    prefault).
//  * One sync runs at a time (a flusher run or a thread leading it in
//    wait_flushed()). A failed sync is final ("fsyncgate"): its waiters and
//    every later one get the error, and the log refuses appends.
//  * stop() (close) makes every later wait fail with `closed`, detaches from
//    the pool (no run in progress or later) and waits for a leading waiter's
//    sync; afterwards only the closing thread syncs (complete()), and
//    fail_pending() fails the waiters left.
//
// Thread-safety: on_append() and arm_interval_timer() are called by the
// log's writer (under its append lock); every other member may be called
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "log/epoch_futex.h"
#include "log/flush_scheduler.h"
#include "log/log_config.h"
#include "log/log_error.h"

namespace nocopy::log {

// The flusher's clock (steady, ns): its timers and the log's age deadline.
inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(FlushScheduler::Clock::now().time_since_epoch())
      .count();
}

class Flusher {
 public:
  using FlushCallback = std::function<void(const LogResult<void>&)>;

  // What the flusher syncs: the log it belongs to.
  class Target {
   public:
    // Makes every offset in [from, to) durable (its segments' data and new
    // directory entries).
    virtual LogResult<void> sync_range(std::int64_t from, std::int64_t to) = 0;
    // A sync (or the close) made everything below `flushed` durable.
    virtual void flushed_to(std::int64_t flushed) = 0;

   protected:
    ~Target() = default;
  };

  // Counters of the group-commit syncs (flusher runs and waiters that led
  // one) and of the commit delay.
  struct Stats {
    std::uint64_t syncs = 0;            // group syncs (not append()'s own, group_commit = false)
    std::uint64_t led = 0;              // ... of them done by a wait_flushed() thread
    std::uint64_t waiters_covered = 0;  // waiters pending when those syncs started
    std::uint64_t delays = 0;           // syncs that first waited for waiters (the commit delay)
    std::uint64_t delay_timeouts = 0;   // ... and started before all of them came
    std::uint64_t delay_ns = 0;         // total time spent waiting
    std::uint64_t sync_ns = 0;          // total time in the syncs
  };

  // `log_end`: the log's published end; `name`: the log's, for messages.
  Flusher(const FlushPolicy& policy, const std::atomic<std::int64_t>& log_end, Target& target, std::string name);
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  // Before the log is shared: everything below `durable` is on disk.
  void start(std::int64_t durable);
  // Attaches `client` (the log) to `scheduler`, whose runs then call run().
  void attach(std::shared_ptr<FlushScheduler> scheduler, FlushScheduler::Client* client);

  std::int64_t flushed() const noexcept { return flushed_.load(std::memory_order_acquire); }
  // A sync failed: the log refuses appends. error() says why.
  bool failed() const noexcept { return sync_failed_.load(std::memory_order_acquire); }
  LogError error() const;
  Stats stats() const;

  // After an append published `end` (`records` records), under the log's
  // append lock: asks for the sync the policy wants. `caller_syncs`: the
  // caller waits next (wait_flushed / request_notification) and so starts
  // the sync itself (every_append with group commit).
  void on_append(std::int64_t end, std::int64_t records, bool caller_syncs) {
    switch (policy_.mode) {
      case FlushPolicy::Mode::never: break;
      case FlushPolicy::Mode::every_append:
        // Group commit (the log syncs inline without it).
        if (!caller_syncs) request(end, policy_.group_commit_delay_us > 0);
        break;
      case FlushPolicy::Mode::interval: on_interval_append(end, records); break;
    }
  }
  // Asks for a flusher run that syncs below `upto`: at once, or with
  // `within_delay` (every_append + group commit with a commit delay) by a
  // backstop timer due within the delay, so that a waiter coming meanwhile
  // leads the sync sooner and the run finds nothing to do.
  void request(std::int64_t upto, bool within_delay = false);
  // FlushPolicy::Mode::interval with ms > 0: arms the timer when it is not
  // (the first append after a flush; an unsynced tail at open).
  void arm_interval_timer();

  // Blocks until offset `offset` is on disk (or the log failed/closed),
  // leading the sync itself when none is in progress.
  LogResult<void> wait_flushed(std::int64_t offset);
  // Calls `cb` once offset `offset` is on disk: inline when it already is,
  // otherwise from the thread that completed the sync. Never blocks.
  void request_notification(std::int64_t offset, FlushCallback cb);

  // A pool run for the log: the interval timer's sync and the requested one.
  // False when the flusher is stopped (the run should do nothing more).
  bool run() noexcept;
  // Moves flushed() to `flushed` (or records the error, final) and releases
  // the waiters it covers. For syncs made outside the flusher (append's own
  // without group commit, close, a failed roll).
  void complete(std::int64_t flushed, const std::optional<LogError>& err) { complete_sync(flushed, err); }

  // The log was truncated to `end` (replication) under its append lock:
  // flushed() and the requested sync come down to it, and a sync in
  // progress that read an older, larger log end completes no higher.
  void truncated(std::int64_t end);

  // Runs of the log: soon, or at steady ns `due_ns` (one timer per log).
  void schedule();
  void schedule_at(std::int64_t due_ns);

  // close(): see the contract above.
  void stop();
  void fail_pending();

 private:
  void on_interval_append(std::int64_t end, std::int64_t records);
  // `sync`: the group sync that ends here (clears syncing_, records stats).
  struct SyncDone {
    std::size_t covered = 0;
    std::int64_t took_ns = 0;
    bool led = false;
    std::uint64_t truncations = 0;  // truncations_ when the sync read the log end
  };
  void complete_sync(std::int64_t flushed, const std::optional<LogError>& err,
                     const std::optional<SyncDone>& sync = std::nullopt);
  void check_interval_timer();
  // mu_ held by lk, syncing_ false: syncs everything appended so far
  // (syncing_ set meanwhile, lk released) and returns with lk held. True when
  // a flusher run asked for meanwhile must now be scheduled.
  bool group_sync(std::unique_lock<std::mutex>& lk, bool led);
  // How long a waiter arriving now gathers others before leading a sync
  // (0: lead at once). mu_ held.
  std::int64_t gather_bound_ns() const;
  // The commit delay (FlushPolicy::group_commit_delay_us): called with
  // mu_ held before a group-commit sync; may wait on gather_cv_.
  void gather_waiters(std::unique_lock<std::mutex>& lk);
  void wake_gatherer();  // mu_ held; a waiter was added
  // Waiters no sync has covered yet: blocked threads + callbacks. mu_ held.
  std::size_t pending_waiters() const { return blocked_waiters_.size() + waiters_.size(); }
  void wake_waiters() { epoch_.bump(); }  // wakes wait_flushed()

  const FlushPolicy policy_;
  const std::atomic<std::int64_t>& log_end_;
  Target& target_;
  const std::string name_;
  std::shared_ptr<FlushScheduler> scheduler_;
  FlushScheduler::Handle handle_;
  std::atomic<std::int64_t> flushed_{0};
  std::atomic<bool> sync_failed_{false};
  std::int64_t unflushed_messages_ = 0;  // interval by count; under the log's append lock

  mutable std::mutex mu_;
  // Bumped (then notified) after flushed_, error_, stopped_ or syncing_
  // changed: wait_flushed() threads wait on it (a futex, no mutex to
  // re-acquire on wakeup).
  EpochFutex epoch_;
  bool syncing_ = false;                 // a group sync runs (flusher or a leading waiter); under mu_
  bool rerun_after_sync_ = false;        // a flusher run found syncing_: the syncer reschedules it
  std::int64_t gather_start_ns_ = -1;    // waiters gather for a sync they will lead since (steady ns), or -1
  bool gather_timed_ = false;            // a gathering waiter sleeps with the deadline
  std::atomic<bool> backstop_armed_{false};  // request(within_delay)'s timer is pending
  std::int64_t requested_ = 0;           // sync everything below this
  std::uint64_t truncations_ = 0;        // truncated() calls; under mu_
  std::int64_t truncated_end_ = 0;       // the last truncated() end; under mu_
  bool stopped_ = false;
  // FlushPolicy::Mode::interval with ms > 0: armed by the first append after
  // a flush, due flush.ms later (steady clock, ns); cleared by the run that
  // syncs. timer_due_ns_ is kNoDue from the run that clears the timer until
  // the append that arms it next has computed the deadline.
  static constexpr std::int64_t kNoDue = std::numeric_limits<std::int64_t>::max();
  std::atomic<bool> timer_armed_{false};
  std::atomic<std::int64_t> timer_due_ns_{kNoDue};
  std::optional<LogError> error_;
  std::multimap<std::int64_t, FlushCallback> waiters_;  // offset + 1 -> callback
  // Commit delay (FlushPolicy::group_commit_delay_us), all under mu_:
  std::multiset<std::int64_t> blocked_waiters_;  // offset + 1 of each wait_flushed() thread not yet covered
  std::size_t last_sync_waiters_ = 0;    // waiters the last sync covered
  std::int64_t last_sync_ns_ = 0;        // how long it took
  Stats stats_;
  bool gathering_ = false;               // a run waits on gather_cv_
  std::condition_variable gather_cv_;    // a waiter arrived, or stop
};

}  // namespace nocopy::log
