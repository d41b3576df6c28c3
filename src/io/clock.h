// Milliseconds of the two clocks the broker reads, one definition for every
// layer: wall time (record timestamps, commit and expiry times persisted or
// sent to clients) and steady time (timeouts and intervals inside one
// process, immune to clock steps). Thread-safe, no allocation.
#pragma once

#include <chrono>
#include <cstdint>

namespace nocopy::io {

// Milliseconds since the Unix epoch (std::chrono::system_clock).
inline std::int64_t wall_clock_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Milliseconds of std::chrono::steady_clock: only differences mean anything.
inline std::int64_t steady_clock_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace nocopy::io
