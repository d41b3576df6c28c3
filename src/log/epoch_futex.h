// EpochFutex: a 32-bit counter that threads sleep on until it changes -- a
// futex with an optional deadline, which std::atomic::wait lacks.
//
// bump() increments the counter and wakes every sleeper; wait(seen, deadline)
// returns once the counter differs from `seen` (read it first, then check the
// condition it guards, then wait), at the deadline, or spuriously: callers
// re-check their condition in a loop. bump() makes a syscall only when a
// thread sleeps.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace nocopy::log {

class EpochFutex {
 public:
  std::uint32_t load() const noexcept { return epoch_.load(std::memory_order_seq_cst); }
  void bump() noexcept;
  // deadline_ns: CLOCK_MONOTONIC nanoseconds (as std::chrono::steady_clock
  // on Linux), or < 0 for none.
  void wait(std::uint32_t seen, std::int64_t deadline_ns = -1) noexcept;

 private:
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::uint32_t> sleepers_{0};
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
};

}  // namespace nocopy::log
