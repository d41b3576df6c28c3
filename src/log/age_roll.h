// Roll by age (segment.ms) without reading the clock on every append: a
// segment's first append arms a deadline (steady clock, first append +
// segment_ms); the flusher run that finds it passed marks that segment due,
// and the next append to it rolls. With an injected LogConfig::clock (tests)
// the age is compared on each append instead, since such a clock cannot
// drive a timer.
//
// The log asks the flusher for a run at each deadline this returns (kNever:
// none); the scheduler keeps one timer per log, so every run calls check(),
// which re-arms a deadline another timer displaced.
//
// Thread-safety: due(), arm() and set_segment_ms() are called under the
// log's append lock; check() from a flusher run at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>

#include "log/log_segment.h"

namespace nocopy::log {

class AgeRoll {
 public:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

  AgeRoll(std::int64_t segment_ms, bool injected_clock) noexcept
      : segment_ms_(segment_ms), injected_clock_(injected_clock) {}

  // Whether the next append to `seg` rolls it first. `now`: wall ms, read by
  // the append only with an injected clock.
  bool due(const LogSegment& seg, std::int64_t now) const noexcept {
    if (injected_clock_) [[unlikely]] {
      return seg.first_append_ms() >= 0 && now - seg.first_append_ms() >= segment_ms_;
    }
    return due_base_.load(std::memory_order_acquire) == seg.base_offset();
  }
  // After the first append to segment `base`. Returns the deadline (steady
  // ns) to schedule a run at, or kNever.
  std::int64_t arm(std::int64_t base);
  // segment_ms changed: moves the armed segment's deadline either way (a
  // longer one takes back a mark). Returns the deadline to schedule, or kNever.
  std::int64_t set_segment_ms(std::int64_t segment_ms);
  // A flusher run: marks the segment due when its deadline passed, else
  // returns that deadline to re-arm (kNever: nothing to arm).
  std::int64_t check() noexcept;

 private:
  std::int64_t reset();  // recomputes the deadline; under the append lock

  std::int64_t segment_ms_;                   // under the log's append lock
  const bool injected_clock_;
  std::mutex mu_;                              // guards the three below
  std::int64_t base_ = -1;                     // the segment the deadline is for (-1: none yet)
  std::int64_t first_ns_ = 0;                  // its first append (steady ns)
  std::int64_t due_ns_ = 0;                    // + segment_ms (kNever: never)
  std::atomic<std::int64_t> due_base_{-1};     // the segment past its deadline (set under mu_)
};

}  // namespace nocopy::log
