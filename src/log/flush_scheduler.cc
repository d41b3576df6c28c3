#include "log/flush_scheduler.h"

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

namespace nocopy::log {

FlushScheduler::FlushScheduler(std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("FlushScheduler needs at least one thread");
  threads_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { worker(); });
      // Visible in top -H / /proc/<pid>/task/*/comm (15 characters at most).
      ::pthread_setname_np(threads_.back().native_handle(), "nocopy-flush");
    }
    // Return only once every thread runs its loop: a thread still starting
    // (inside libc or a sanitizer's thread set-up, which allocate) when the
    // process forks would leave the child's allocator locked.
    std::unique_lock lk(mu_);
    started_cv_.wait(lk, [&] { return started_ == threads_.size(); });
  } catch (...) {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
    throw;
  }
}

FlushScheduler::~FlushScheduler() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.get_id() == std::this_thread::get_id()) {
      spdlog::critical("FlushScheduler: destroyed from one of its own threads");
      std::abort();
    }
    t.join();
  }
}

std::size_t FlushScheduler::default_threads() noexcept {
  const unsigned hw = std::thread::hardware_concurrency();
  return std::clamp<std::size_t>(hw, 1, 4);
}

namespace {
std::mutex shared_mu;
std::weak_ptr<FlushScheduler> shared_current;

// A child of fork() has none of the pool's threads: it must not be handed
// the parent's pool (its logs would never be flushed). The parent's object
// is left alone in the child (its threads cannot be joined there); the
// child makes a pool of its own on first use.
void forget_shared_in_child() noexcept {
  new (&shared_mu) std::mutex();  // may have been held by a parent thread at fork
  shared_current.reset();
}
}  // namespace

std::shared_ptr<FlushScheduler> FlushScheduler::shared() {
  static const int registered = ::pthread_atfork(nullptr, nullptr, forget_shared_in_child);
  (void)registered;
  std::lock_guard lk(shared_mu);
  if (auto s = shared_current.lock()) return s;
  auto s = std::make_shared<FlushScheduler>(default_threads());
  shared_current = s;
  return s;
}

FlushScheduler::Handle FlushScheduler::attach(Client* client) { return std::make_shared<Registration>(client); }

void FlushScheduler::enqueue_locked(const Handle& h) {
  if (h->detached_) return;
  if (h->running_) {
    h->rerun_ = true;
    return;
  }
  if (h->queued_) return;
  h->queued_ = true;
  ready_.push_back(h);
  work_cv_.notify_one();
}

void FlushScheduler::schedule(const Handle& h) {
  // Already pending and not started: that run will see the caller's state.
  // (The caller published its request before this exchange; the pool thread
  // clears wanted_ before it reads the client's state, so either this
  // exchange sees false and queues, or the run starts after it.)
  if (h->wanted_.exchange(true, std::memory_order_acq_rel)) return;
  std::lock_guard lk(mu_);
  enqueue_locked(h);
}

void FlushScheduler::schedule_at(const Handle& h, Clock::time_point when) {
  std::lock_guard lk(mu_);
  if (h->detached_) return;
  if (h->armed_) {
    if (h->timer_->first <= when) return;
    timers_.erase(h->timer_);
  }
  const bool earliest = timers_.empty() || when < timers_.begin()->first;
  h->timer_ = timers_.emplace(when, h);
  h->armed_ = true;
  // A sleeping thread waits until the previous earliest deadline: wake one.
  if (earliest) work_cv_.notify_one();
}

void FlushScheduler::detach(const Handle& h) {
  std::unique_lock lk(mu_);
  h->detached_ = true;
  if (h->armed_) {
    timers_.erase(h->timer_);
    h->armed_ = false;
  }
  // A queued entry stays in ready_ and is skipped when popped.
  if (h->running_ && h->runner_ == std::this_thread::get_id()) {
    spdlog::critical("FlushScheduler: a client detached itself from inside its own run");
    std::abort();
  }
  idle_cv_.wait(lk, [&] { return !h->running_; });
}

void FlushScheduler::worker() {
  std::unique_lock lk(mu_);
  ++started_;
  started_cv_.notify_all();
  while (true) {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      Handle h = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      h->armed_ = false;
      enqueue_locked(h);
    }
    if (!ready_.empty()) {
      Handle h = std::move(ready_.front());
      ready_.pop_front();
      h->queued_ = false;
      if (h->detached_) continue;
      h->running_ = true;
      h->runner_ = std::this_thread::get_id();
      h->wanted_.store(false, std::memory_order_seq_cst);
      lk.unlock();
      h->client_->run_flush_work();
      lk.lock();
      h->running_ = false;
      if (h->detached_) {
        idle_cv_.notify_all();
      } else if (h->rerun_) {
        // Group commit's next round. This thread loops straight back to the
        // queue, so no other thread needs waking: when nothing else is
        // ready it runs the client again at once, with a warm cache.
        h->rerun_ = false;
        h->queued_ = true;
        ready_.push_back(h);
      }
      continue;
    }
    if (stop_) return;
    if (timers_.empty()) {
      work_cv_.wait(lk);
    } else {
      // A copy: wait_until re-reads its argument after waking, and another
      // thread may erase that timer meanwhile.
      const Clock::time_point due = timers_.begin()->first;
      work_cv_.wait_until(lk, due);
    }
  }
}

}  // namespace nocopy::log
