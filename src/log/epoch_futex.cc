#include "log/epoch_futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>

namespace nocopy::log {

namespace {

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* ts, int bitset) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, ts, nullptr, bitset);
}

}  // namespace

void EpochFutex::bump() noexcept {
  // seq_cst on both sides (Dekker): either this load sees a sleeper that is
  // about to wait, or that sleeper's futex call sees the new value.
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    (void)futex(&epoch_, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, 0);
  }
}

void EpochFutex::wait(std::uint32_t seen, std::int64_t deadline_ns) noexcept {
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  if (epoch_.load(std::memory_order_seq_cst) == seen) {
    if (deadline_ns < 0) {
      (void)futex(&epoch_, FUTEX_WAIT_PRIVATE, seen, nullptr, 0);
    } else {
      // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
      timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000), static_cast<long>(deadline_ns % 1'000'000'000)};
      (void)futex(&epoch_, FUTEX_WAIT_BITSET_PRIVATE, seen, &ts, FUTEX_BITSET_MATCH_ANY);
    }
    // EINTR, EAGAIN (the value moved on) and ETIMEDOUT all mean: re-check.
  }
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace nocopy::log
