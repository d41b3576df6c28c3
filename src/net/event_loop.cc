#include "net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <spdlog/spdlog.h>

namespace nocopy::net {

namespace {
[[noreturn]] void throw_errno(const char* call) { throw std::system_error(errno, std::generic_category(), call); }
}  // namespace

EventLoop::EventLoop() {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw_errno("epoll_create1");
  wakefd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd_ < 0) {
    int e = errno;
    ::close(epfd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  add(wakefd_, EPOLLIN, [this](std::uint32_t) {
    std::uint64_t v;
    // Drain the counter; EAGAIN means another wake already drained it.
    while (::read(wakefd_, &v, sizeof v) < 0 && errno == EINTR) {
    }
    woken_.store(false, std::memory_order_release);
  });
}

EventLoop::~EventLoop() {
  if (wakefd_ >= 0) ::close(wakefd_);
  if (epfd_ >= 0) ::close(epfd_);
}

void EventLoop::add(int fd, std::uint32_t events, IoCallback cb) {
  if (fd < 0) throw std::system_error(EBADF, std::generic_category(), "epoll_ctl(ADD)");
  if (static_cast<std::size_t>(fd) >= entries_.size()) entries_.resize(static_cast<std::size_t>(fd) + 64);
  Entry& e = entries_[static_cast<std::size_t>(fd)];
  if (e.gen != 0) throw std::system_error(EEXIST, std::generic_category(), "epoll_ctl(ADD)");
  std::uint32_t gen = next_gen_++;
  if (next_gen_ == 0) next_gen_ = 1;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<std::uint64_t>(gen) << 32) | static_cast<std::uint32_t>(fd);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("epoll_ctl(ADD)");
  e.gen = gen;
  e.events = events;
  e.cb = std::make_unique<IoCallback>(std::move(cb));
  ++registered_;
}

void EventLoop::modify(int fd, std::uint32_t events) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size()) return;
  Entry& e = entries_[static_cast<std::size_t>(fd)];
  if (e.gen == 0 || e.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<std::uint64_t>(e.gen) << 32) | static_cast<std::uint32_t>(fd);
  if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0) throw_errno("epoll_ctl(MOD)");
  e.events = events;
}

void EventLoop::remove(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size()) return;
  Entry& e = entries_[static_cast<std::size_t>(fd)];
  if (e.gen == 0) return;
  // ENOENT/EBADF: the fd was already closed; the kernel dropped it by itself.
  (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  e.gen = 0;
  e.events = 0;
  // The callback may be the one running right now: destroy it after the batch.
  graveyard_.push_back(std::move(e.cb));
  --registered_;
}

std::uint32_t EventLoop::events_of(int fd) const {
  if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size()) return 0;
  return entries_[static_cast<std::size_t>(fd)].events;
}

EventLoop::TimerId EventLoop::run_at(Clock::time_point deadline, Task fn) {
  TimerId id = next_timer_++;
  timers_.emplace(id, std::move(fn));
  heap_.push(TimerRef{deadline, id});
  return id;
}

bool EventLoop::cancel(TimerId id) { return timers_.erase(id) > 0; }

void EventLoop::post(Task fn) {
  if (in_loop_thread()) {
    local_posted_.push_back(std::move(fn));
    return;
  }
  {
    std::lock_guard lk(mu_);
    posted_.push_back(std::move(fn));
  }
  wake();
}

void EventLoop::wake() {
  if (woken_.exchange(true, std::memory_order_acq_rel)) return;  // a wakeup is already pending
  std::uint64_t one = 1;
  while (::write(wakefd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void EventLoop::stop() {
  stop_.store(true, std::memory_order_release);
  if (!in_loop_thread()) wake();
}

int EventLoop::next_timeout_ms() {
  if (!local_posted_.empty()) return 0;
  // Drop canceled timers from the top so they do not cause early wakeups.
  while (!heap_.empty() && !timers_.contains(heap_.top().id)) heap_.pop();
  if (heap_.empty()) return -1;
  auto d = heap_.top().deadline - Clock::now();
  if (d <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count() + 1;  // round up
  return ms > 60'000 ? 60'000 : static_cast<int>(ms);
}

void EventLoop::run_timers() {
  while (!heap_.empty() && heap_.top().deadline <= now_) {
    TimerId id = heap_.top().id;
    heap_.pop();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // canceled
    Task fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
}

void EventLoop::run_posted() {
  std::vector<Task> batch;
  {
    std::lock_guard lk(mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
  // Tasks posted by the loop thread: run those queued so far (new ones queued
  // while running wait for the next iteration, so a task that re-posts itself
  // cannot starve I/O).
  std::vector<Task> local;
  local.swap(local_posted_);
  for (auto& fn : local) fn();
}

void EventLoop::run() {
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  std::vector<epoll_event> events(256);
  while (!stop_.load(std::memory_order_acquire)) {
    int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), next_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("epoll_wait");
    }
    refresh_now();
    for (int i = 0; i < n; ++i) {
      std::uint64_t key = events[static_cast<std::size_t>(i)].data.u64;
      auto fd = static_cast<std::size_t>(key & 0xffffffffu);
      auto gen = static_cast<std::uint32_t>(key >> 32);
      if (fd >= entries_.size() || entries_[fd].gen != gen) continue;  // removed earlier in this batch
      // Raw pointer: the callback may add fds (growing entries_) or remove
      // itself (moving its unique_ptr to graveyard_); either way it stays alive.
      IoCallback* cb = entries_[fd].cb.get();
      (*cb)(events[static_cast<std::size_t>(i)].events);
    }
    graveyard_.clear();
    run_timers();
    run_posted();
    graveyard_.clear();
    if (static_cast<std::size_t>(n) == events.size() && events.size() < 4096) events.resize(events.size() * 2);
  }
  // Run what was posted before stop() so no completion is silently dropped.
  run_posted();
  graveyard_.clear();
  owner_.store(std::thread::id{}, std::memory_order_relaxed);
}

}  // namespace nocopy::net
