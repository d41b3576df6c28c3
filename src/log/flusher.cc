#include "log/flusher.h"

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nocopy::log {

Flusher::Flusher(const FlushPolicy& policy, const std::atomic<std::int64_t>& log_end, Target& target,
                 std::string name)
    : policy_(policy), log_end_(log_end), target_(target), name_(std::move(name)) {}

void Flusher::start(std::int64_t durable) {
  flushed_.store(durable, std::memory_order_release);
  requested_ = durable;
}

void Flusher::truncated(std::int64_t end) {
  std::lock_guard lk(mu_);
  ++truncations_;
  truncated_end_ = end;
  if (flushed_.load(std::memory_order_relaxed) > end) flushed_.store(end, std::memory_order_release);
  requested_ = std::min(requested_, end);
}

void Flusher::attach(std::shared_ptr<FlushScheduler> scheduler, FlushScheduler::Client* client) {
  scheduler_ = std::move(scheduler);
  handle_ = scheduler_->attach(client);
}

void Flusher::schedule() { scheduler_->schedule(handle_); }

void Flusher::schedule_at(std::int64_t due_ns) {
  scheduler_->schedule_at(handle_, FlushScheduler::Clock::time_point(std::chrono::nanoseconds(due_ns)));
}

LogError Flusher::error() const {
  std::lock_guard lk(mu_);
  return error_.value_or(LogError{LogErrc::storage_error, EIO, "an earlier sync failed"});
}

Flusher::Stats Flusher::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void Flusher::on_interval_append(std::int64_t end, std::int64_t records) {
  unflushed_messages_ += records;
  if (policy_.messages > 0 && unflushed_messages_ >= policy_.messages) {
    unflushed_messages_ = 0;
    request(end);
  }
  arm_interval_timer();
}

void Flusher::request(std::int64_t upto, bool within_delay) {
  {
    std::lock_guard lk(mu_);
    if (upto <= requested_) return;  // a run that covers it is pending or in progress
    requested_ = upto;
  }
  if (!within_delay) {
    schedule();
    return;
  }
  // One timer at a time; the run it triggers clears the flag, and does
  // nothing when a waiter led a sync that covered the append meanwhile.
  if (backstop_armed_.exchange(true, std::memory_order_acq_rel)) return;
  const std::int64_t due = steady_ns() + policy_.group_commit_delay_us * 1000;
  schedule_at(due);
}

void Flusher::arm_interval_timer() {
  if (policy_.mode != FlushPolicy::Mode::interval || policy_.ms <= 0) return;
  // The exchange pairs with the one in run_flush_work(): either this append
  // sees the timer cleared and arms it, or the run that cleared it reads a
  // log end that includes this append.
  // Until the store below, a run that sees the timer armed reads kNoDue (the
  // run that cleared the timer stored it first) and leaves the timer to the
  // schedule_at below -- it never reads the previous, passed deadline.
  if (timer_armed_.exchange(true, std::memory_order_acq_rel)) return;
  const std::int64_t due = steady_ns() + policy_.ms * 1'000'000;
  timer_due_ns_.store(due, std::memory_order_release);
  schedule_at(due);
}

void Flusher::complete_sync(std::int64_t flushed, const std::optional<LogError>& err,
                            const std::optional<SyncDone>& sync) {
  std::vector<FlushCallback> ready;
  std::optional<LogError> error;
  {
    std::lock_guard lk(mu_);
    if (sync) {
      // In the same critical section as flushed_: a waiter never sees the
      // sync over without its result.
      syncing_ = false;
      // The next sync gathers as many waiters as took part in this round:
      // those it covered and those that came while it ran.
      last_sync_waiters_ = sync->covered;
      last_sync_ns_ = sync->took_ns;
      ++stats_.syncs;
      if (sync->led) ++stats_.led;
      stats_.waiters_covered += sync->covered;
      stats_.sync_ns += static_cast<std::uint64_t>(sync->took_ns);
    }
    if (err) {
      error_ = err;
      sync_failed_.store(true, std::memory_order_release);
      spdlog::error("log {}: sync failed, the log refuses appends from now on: {}", name_, err->message);
      for (auto& [o, cb] : waiters_) ready.push_back(std::move(cb));
      waiters_.clear();
      blocked_waiters_.clear();
      error = err;
    } else {
      // A sync that read the log end before a truncation covers at most what
      // the truncation kept (later appends are not on disk yet).
      if (sync && sync->truncations != truncations_) flushed = std::min(flushed, truncated_end_);
      if (flushed > flushed_.load(std::memory_order_relaxed)) flushed_.store(flushed, std::memory_order_release);
      auto stop = waiters_.upper_bound(flushed);  // keys are offset + 1
      for (auto it = waiters_.begin(); it != stop; ++it) ready.push_back(std::move(it->second));
      waiters_.erase(waiters_.begin(), stop);
      blocked_waiters_.erase(blocked_waiters_.begin(), blocked_waiters_.upper_bound(flushed));
      if (sync) last_sync_waiters_ += pending_waiters();
    }
  }
  // Outside the lock: the woken threads do not run into a held mu_.
  wake_waiters();
  LogResult<void> result = error ? LogResult<void>(std::unexpected(*error)) : LogResult<void>();
  for (auto& cb : ready) cb(result);
  if (!err) target_.flushed_to(flushed);
}

void Flusher::check_interval_timer() {
  // FlushPolicy::Mode::interval by time: sync once the armed deadline passed (kNoDue:
  // the arming append has not stored it yet and schedules the run itself).
  const std::int64_t due =
      timer_armed_.load(std::memory_order_acquire) ? timer_due_ns_.load(std::memory_order_acquire) : kNoDue;
  if (due != kNoDue) {
    if (steady_ns() >= due) {
      timer_due_ns_.store(kNoDue, std::memory_order_relaxed);  // ordered before the next arm by the exchange
      timer_armed_.exchange(false, std::memory_order_acq_rel);  // the next append re-arms
      const std::int64_t end = log_end_.load(std::memory_order_acquire);
      std::lock_guard lk(mu_);
      requested_ = std::max(requested_, end);
    } else {
      schedule_at(due);
    }
  }
}

bool Flusher::run() noexcept {
  check_interval_timer();
  backstop_armed_.store(false, std::memory_order_release);  // a later lazy request re-arms
  std::unique_lock lk(mu_);
  if (stopped_) return false;
  if (error_) {
    // A failed sync is final: its waiters were failed, do not retry.
    requested_ = flushed_.load(std::memory_order_relaxed);
  } else if (syncing_) {
    // A waiter leads a sync; what it does not cover is this run's again.
    rerun_after_sync_ = true;
  } else if (!blocked_waiters_.empty() && waiters_.empty()) {
    // Blocked waiters gather for a sync they will lead (within their
    // bound); it covers everything appended so far. Nothing to do here.
  } else if (requested_ > flushed_.load(std::memory_order_relaxed)) {
    gather_waiters(lk);
    if (stopped_) return false;
    if (!syncing_) {
      // Appends made while the sync runs schedule the next run.
      const bool again = group_sync(lk, false);
      if (stopped_) return false;
      if (again) {
        lk.unlock();
        schedule();
        lk.lock();
      }
    }
  }
  return true;
}

bool Flusher::group_sync(std::unique_lock<std::mutex>& lk, bool led) {
  // Every waiter counted here appended before it registered, so the log
  // end read below covers it: one sync for everything appended so far.
  SyncDone done{pending_waiters(), 0, led};
  syncing_ = true;
  const std::int64_t t0 = steady_ns();
  if (led && gather_start_ns_ >= 0) {
    // Waiters gathered for this sync (the commit delay, led by them).
    ++stats_.delays;
    if (done.covered < last_sync_waiters_) ++stats_.delay_timeouts;
    stats_.delay_ns += static_cast<std::uint64_t>(t0 - gather_start_ns_);
  }
  gather_start_ns_ = -1;
  done.truncations = truncations_;
  lk.unlock();
  const std::int64_t target = log_end_.load(std::memory_order_acquire);
  auto r = target_.sync_range(flushed_.load(std::memory_order_acquire), target);
  done.took_ns = steady_ns() - t0;
  complete_sync(target, r ? std::nullopt : std::optional<LogError>(r.error()), done);
  lk.lock();
  const bool again = rerun_after_sync_ && !stopped_;
  rerun_after_sync_ = false;
  return again;
}

std::int64_t Flusher::gather_bound_ns() const {
  const std::int64_t delay_ns = policy_.group_commit_delay_us * 1000;
  if (policy_.mode != FlushPolicy::Mode::every_append || !policy_.group_commit || delay_ns <= 0 ||
      last_sync_waiters_ < 2) {
    return 0;
  }
  // Never longer than four syncs: a latecomer left out costs a sync of its
  // own, the next group's sync queues behind that one, and the group after
  // is split again until the stragglers line up. Measured against bare
  // pwrite + fdatasync in the same run (bench_log, 8 appenders): a bound of
  // one sync left the 8th appender out of 1.6-5.6 % of the syncs and reached
  // 0.71 of the bare rate, two syncs 0.85, four 0.96 (medians of alternating
  // runs; docs/architecture-log.md, "Group commit"). A huge configured
  // delay still never stalls appenders that do not come back.
  return std::max<std::int64_t>(0, std::min(delay_ns, 4 * last_sync_ns_));
}

void Flusher::wake_gatherer() {
  // Only the arrival that completes the gathering wakes it: one wakeup per
  // sync, not one per waiter.
  if (gathering_ && pending_waiters() == last_sync_waiters_) gather_cv_.notify_one();
}

void Flusher::gather_waiters(std::unique_lock<std::mutex>& lk) {
  const std::size_t expect = last_sync_waiters_;
  const std::int64_t bound = gather_bound_ns();
  if (bound <= 0) return;
  auto ready = [&] { return stopped_ || error_ || pending_waiters() >= expect; };
  if (ready()) return;
  gathering_ = true;
  const std::int64_t t0 = steady_ns();
  const bool all = gather_cv_.wait_for(lk, std::chrono::nanoseconds(bound), ready);
  gathering_ = false;
  ++stats_.delays;
  if (!all) ++stats_.delay_timeouts;
  stats_.delay_ns += static_cast<std::uint64_t>(steady_ns() - t0);
}

LogResult<void> Flusher::wait_flushed(std::int64_t offset) {
  if (offset >= log_end_.load(std::memory_order_acquire)) {
    return log_fail(LogErrc::offset_out_of_range, fmt::format("offset {} was not appended yet", offset));
  }
  std::unique_lock lk(mu_);
  if (flushed_.load(std::memory_order_relaxed) > offset) return {};
  if (error_) return std::unexpected(*error_);
  if (stopped_) return log_fail(LogErrc::closed, "log closed before the flush");
  requested_ = std::max(requested_, offset + 1);
  // Pending until a sync covers it: complete_sync() removes the entry then
  // (a thread released but not yet running must not count as pending).
  blocked_waiters_.insert(offset + 1);
  wake_gatherer();
  // The commit delay, led by the waiters themselves: the one whose arrival
  // makes the count the last sync had (or whose gathering time is up) syncs
  // for all of them -- no flusher thread to wake, and the others sleep once.
  std::int64_t deadline = -1;  // from when this thread may lead (no sync in progress)
  for (;;) {
    if (flushed_.load(std::memory_order_relaxed) > offset) return {};
    if (error_) return std::unexpected(*error_);  // the error cleared every entry
    if (stopped_) {
      // Still there when close() left it.
      if (auto it = blocked_waiters_.find(offset + 1); it != blocked_waiters_.end()) blocked_waiters_.erase(it);
      return log_fail(LogErrc::closed, "log closed before the flush");
    }
    // gathering_: a flusher run gathers (for callbacks); it syncs for us too.
    const bool may_lead = !syncing_ && !gathering_;
    if (may_lead && deadline < 0) deadline = steady_ns() + gather_bound_ns();
    if (may_lead && (pending_waiters() >= last_sync_waiters_ || steady_ns() >= deadline)) {
      if (group_sync(lk, true)) {
        lk.unlock();
        schedule();
        lk.lock();
      }
      continue;
    }
    if (may_lead && gather_start_ns_ < 0) gather_start_ns_ = steady_ns();
    // One gathering waiter keeps the time (it leads when the time is up);
    // the others sleep until a sync ends, so the one that leads early does
    // not leave the rest waking up during its sync.
    const bool timed = may_lead && !gather_timed_;
    if (timed) gather_timed_ = true;
    const std::uint32_t epoch = epoch_.load();
    lk.unlock();
    epoch_.wait(epoch, timed ? deadline : -1);
    if (timed) {
      lk.lock();
      gather_timed_ = false;
      if (flushed_.load(std::memory_order_relaxed) > offset && !blocked_waiters_.empty()) {
        // Covered by a sync that others came too late for: they slept while
        // this thread kept the time; one of them keeps it now.
        lk.unlock();
        wake_waiters();
        return {};
      }
      continue;
    }
    // Released threads leave without touching mu_ (8 woken waiters
    // would otherwise queue on it).
    if (flushed_.load(std::memory_order_acquire) > offset) return {};
    lk.lock();
  }
}

void Flusher::request_notification(std::int64_t offset, FlushCallback cb) {
  if (offset >= log_end_.load(std::memory_order_acquire)) {
    cb(log_fail(LogErrc::offset_out_of_range, fmt::format("offset {} was not appended yet", offset)));
    return;
  }
  {
    std::unique_lock lk(mu_);
    if (flushed_.load(std::memory_order_relaxed) <= offset && !error_ && !stopped_) {
      waiters_.emplace(offset + 1, std::move(cb));
      wake_gatherer();
      if (offset + 1 > requested_) {
        requested_ = offset + 1;
        lk.unlock();
        schedule();
      }
      return;
    }
  }
  if (flushed_.load(std::memory_order_acquire) > offset) {
    cb(LogResult<void>());
  } else {
    std::optional<LogError> e;
    {
      std::lock_guard lk(mu_);
      e = error_;
    }
    cb(std::unexpected(e.value_or(LogError{LogErrc::closed, 0, "log is closed"})));
  }
}

void Flusher::stop() {
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    gather_cv_.notify_all();
  }
  // No run starts after this, and one in progress has returned: from here on
  // only the closing thread syncs, and the pool holds no reference to the log.
  if (handle_) scheduler_->detach(handle_);
  // A waiter leading a sync finishes it (none starts after stopped_).
  std::unique_lock lk(mu_);
  while (syncing_) {
    const std::uint32_t epoch = epoch_.load();
    lk.unlock();
    epoch_.wait(epoch);
    lk.lock();
  }
}

void Flusher::fail_pending() {
  std::vector<FlushCallback> rest;
  {
    std::lock_guard lk(mu_);
    for (auto& [o, cb] : waiters_) rest.push_back(std::move(cb));
    waiters_.clear();
  }
  wake_waiters();
  for (auto& cb : rest) cb(log_fail(LogErrc::closed, "log closed before the flush"));
}

}  // namespace nocopy::log
