#include "log/age_roll.h"

#include "log/flusher.h"

namespace nocopy::log {

namespace {
// steady ns `ms` milliseconds after `from`, saturating (segment_ms may be huge).
std::int64_t ms_after(std::int64_t from, std::int64_t ms) noexcept {
  if (ms <= 0) return from;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (ms > (kMax - from) / 1'000'000) return kMax;
  return from + ms * 1'000'000;
}
}  // namespace

std::int64_t AgeRoll::arm(std::int64_t base) {
  {
    std::lock_guard lk(mu_);
    base_ = base;
    first_ns_ = steady_ns();
  }
  return reset();
}

std::int64_t AgeRoll::set_segment_ms(std::int64_t segment_ms) {
  segment_ms_ = segment_ms;
  return reset();
}

std::int64_t AgeRoll::reset() {
  std::int64_t due;
  {
    std::lock_guard lk(mu_);
    if (base_ < 0) return kNever;
    due_ns_ = due = ms_after(first_ns_, segment_ms_);
    // A longer segment_ms takes back a mark the old one set.
    if (steady_ns() < due && due_base_.load(std::memory_order_relaxed) == base_) {
      due_base_.store(-1, std::memory_order_release);
    }
  }
  // An injected clock is compared per append.
  return injected_clock_ ? kNever : due;
}

std::int64_t AgeRoll::check() noexcept {
  std::int64_t due;
  {
    std::lock_guard lk(mu_);
    if (base_ < 0 || due_base_.load(std::memory_order_relaxed) == base_) return kNever;
    due = due_ns_;
    if (steady_ns() >= due) {
      // The next append rolls (due()).
      due_base_.store(base_, std::memory_order_release);
      return kNever;
    }
  }
  return injected_clock_ ? kNever : due;
}

}  // namespace nocopy::log
