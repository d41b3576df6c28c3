// FlushScheduler: a small, fixed pool of threads that runs the background
// work of many PartitionLogs -- group-commit fdatasyncs, interval flushes,
// mmap-mode prefaulting -- instead of one flusher thread per log (a broker
// with 1,000 partitions would otherwise run 1,000 threads).
//
// Model: a log is a Client. It attaches once and gets a Handle; whenever it
// has work it calls schedule(handle) (or schedule_at(handle, when) for a
// deadline), and a pool thread later calls client->run_flush_work(). The
// work is level-triggered: run_flush_work() looks at the client's own state
// and does whatever is due, so a spurious or coalesced run is harmless.
//
// Guarantees:
//  * run_flush_work() of one client never runs on two threads at once. A
//    schedule() while it runs makes it run once more afterwards (that rerun
//    is how group commit works: everything appended during one fdatasync is
//    covered by the next). Many schedule() calls before it starts coalesce
//    into one run.
//  * Ready clients are served first in, first out, so one busy log cannot
//    starve the others; a client with more work reschedules itself.
//  * detach(handle) returns only when no run of that client is in progress,
//    and no run starts afterwards: the client may then be destroyed. The
//    scheduler keeps only the Handle (not the client) alive in its queues.
//  * A run must not call detach() on its own handle (it would wait for
//    itself): that aborts.
//
// Thread-safety: every member function may be called from any thread.
// schedule() on an already-pending client is one atomic exchange (no lock).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace nocopy::log {

class FlushScheduler {
 public:
  using Clock = std::chrono::steady_clock;

  class Client {
   public:
    // Called on a pool thread; see the guarantees above. Must not throw.
    virtual void run_flush_work() noexcept = 0;

   protected:
    ~Client() = default;
  };

  class Registration {
   public:
    explicit Registration(Client* c) : client_(c) {}

   private:
    friend class FlushScheduler;
    Client* const client_;
    std::atomic<bool> wanted_{false};  // scheduled and not started yet (the lock-free fast path)
    // Under FlushScheduler::mu_:
    bool queued_ = false;    // in ready_
    bool running_ = false;   // a pool thread is in run_flush_work()
    bool rerun_ = false;     // scheduled while running: queue again after
    bool detached_ = false;  // never run again
    bool armed_ = false;     // has an entry in timers_ (timer_)
    std::multimap<Clock::time_point, std::shared_ptr<Registration>>::iterator timer_;
    std::thread::id runner_;
  };
  using Handle = std::shared_ptr<Registration>;

  // Starts `threads` (>= 1) pool threads and returns once all of them run
  // (none is still in thread set-up, so a fork() right after is safe).
  // Throws std::system_error when a thread cannot be created,
  // std::invalid_argument for 0.
  explicit FlushScheduler(std::size_t threads);
  // Stops and joins the threads. Preconditions: every client detached; not
  // called from a pool thread (aborts).
  ~FlushScheduler();
  FlushScheduler(const FlushScheduler&) = delete;
  FlushScheduler& operator=(const FlushScheduler&) = delete;

  // The process-wide scheduler that logs use unless LogConfig names one:
  // created on first use with default_threads() threads, destroyed (threads
  // joined) when its last holder -- in practice the last open log -- lets go.
  // After fork() the child gets a pool of its own (the parent's threads do
  // not exist there).
  static std::shared_ptr<FlushScheduler> shared();
  // min(4, hardware threads), at least 1.
  static std::size_t default_threads() noexcept;

  std::size_t threads() const noexcept { return threads_.size(); }

  Handle attach(Client* client);
  // Runs the client soon (FIFO behind the ready ones).
  void schedule(const Handle& h);
  // Runs the client at `when` or later. One timer per client: an earlier
  // pending timer is kept (the run then re-arms for its own deadline).
  void schedule_at(const Handle& h, Clock::time_point when);
  // See the guarantees above. Idempotent.
  void detach(const Handle& h);

 private:
  void worker();
  void enqueue_locked(const Handle& h);

  std::mutex mu_;
  std::condition_variable work_cv_;  // ready_ non-empty, a timer due sooner, or stop_
  std::condition_variable idle_cv_;  // a run finished (detach waits on it)
  std::deque<Handle> ready_;
  std::multimap<Clock::time_point, Handle> timers_;
  bool stop_ = false;
  std::size_t started_ = 0;             // threads that reached worker()'s loop
  std::condition_variable started_cv_;  // started_ grew (the constructor waits for all)
  std::vector<std::thread> threads_;
};

}  // namespace nocopy::log
