// EventLoop: one epoll reactor per thread.
//
// Model
//  * Level-triggered epoll. A registered fd's callback runs on every
//    epoll_wait() while the condition holds, so a handler may stop reading in
//    the middle of a burst (backpressure) without losing an edge: it only has
//    to drop EPOLLIN from its interest set with modify(), and add it back later.
//  * One loop per thread. Everything except post(), stop() and
//    in_loop_thread() must be called on the loop's own thread (the thread
//    running run()), or before run() starts.
//  * Timers: a min-heap of deadlines on the steady clock, cancelable by id.
//    Resolution is the epoll_wait timeout (1 ms). Used for idle timeouts,
//    header-read timeouts and Kafka long-poll max_wait.
//  * post(fn): the only cross-thread entry point. fn runs on the loop thread
//    soon after (after the current batch of events); the loop is woken through
//    an eventfd. This is how e.g. a log flusher thread completes an acks=all
//    produce: it posts a closure that looks up the connection (by weak_ptr) and
//    sends the response.
//
// Order of work in one iteration: I/O callbacks for the ready fds, then expired
// timers, then posted functions.
//
// Callbacks may add/modify/remove any fd (including their own) and add or
// cancel timers. A callback removed during a batch is never called again, even
// if its fd was already reported ready in that batch.
//
// Errors: setup failures (epoll_create1, eventfd, epoll_ctl) throw
// std::system_error naming the syscall.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

namespace nocopy::net {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using IoCallback = std::function<void(std::uint32_t events)>;  // EPOLLIN|EPOLLOUT|EPOLLERR|EPOLLHUP...
  using Task = std::function<void()>;
  using TimerId = std::uint64_t;  // 0 is never a valid id

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // fd registration (loop thread). `events` is an EPOLL* mask; level-triggered.
  // add() throws if fd is already registered. remove() of an unknown fd is a no-op.
  void add(int fd, std::uint32_t events, IoCallback cb);
  void modify(int fd, std::uint32_t events);
  void remove(int fd);
  std::uint32_t events_of(int fd) const;  // 0 if not registered

  // Timers (loop thread). `fn` runs once, on the loop thread, at or after the
  // deadline. cancel() returns false if the timer already ran or was canceled.
  TimerId run_at(Clock::time_point deadline, Task fn);
  TimerId run_after(std::chrono::milliseconds delay, Task fn) { return run_at(now() + delay, std::move(fn)); }
  bool cancel(TimerId id);

  // Any thread. Runs fn on the loop thread after the current batch.
  void post(Task fn);

  // Runs until stop(). Must be called from one thread only.
  void run();
  // Any thread. run() returns after finishing the current iteration.
  void stop();

  bool in_loop_thread() const { return std::this_thread::get_id() == owner_.load(std::memory_order_relaxed); }
  // Time cached at the start of the current iteration (cheap; good enough for
  // timeouts). refresh_now() re-reads the clock.
  Clock::time_point now() const { return now_; }
  Clock::time_point refresh_now() { return now_ = Clock::now(); }

  // Index of this loop in a ReactorPool (0 for a standalone loop); lets
  // applications keep per-thread state in an array.
  std::size_t index() const { return index_; }
  void set_index(std::size_t i) { index_ = i; }

  std::size_t registered_fds() const { return registered_; }
  // Whether `fd` is registered with add() (and not removed since).
  bool watching(int fd) const {
    return fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() && entries_[static_cast<std::size_t>(fd)].gen != 0;
  }
  std::size_t pending_timers() const { return timers_.size(); }

 private:
  struct Entry {
    std::uint32_t gen = 0;  // 0: slot unused
    std::uint32_t events = 0;
    std::unique_ptr<IoCallback> cb;  // heap-held: stays put while entries_ grows
  };
  struct TimerRef {
    Clock::time_point deadline;
    TimerId id;
    bool operator>(const TimerRef& o) const { return deadline != o.deadline ? deadline > o.deadline : id > o.id; }
  };

  void run_timers();
  void run_posted();
  int next_timeout_ms();
  void wake();

  int epfd_ = -1;
  int wakefd_ = -1;
  std::vector<Entry> entries_;  // indexed by fd
  std::uint32_t next_gen_ = 1;
  std::size_t registered_ = 0;
  std::vector<std::unique_ptr<IoCallback>> graveyard_;  // callbacks removed during dispatch, freed after the batch

  std::priority_queue<TimerRef, std::vector<TimerRef>, std::greater<>> heap_;
  std::unordered_map<TimerId, Task> timers_;
  TimerId next_timer_ = 1;

  std::mutex mu_;
  std::vector<Task> posted_;      // guarded by mu_
  std::vector<Task> local_posted_;  // posted from the loop thread itself (no lock, no wakeup)
  std::atomic<bool> stop_{false};
  std::atomic<bool> woken_{false};
  std::atomic<std::thread::id> owner_{};
  Clock::time_point now_ = Clock::now();
  std::size_t index_ = 0;
};

}  // namespace nocopy::net
