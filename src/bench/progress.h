// A one-line progress bar on stderr, redrawn by a ticker thread every 200 ms
// while enabled (by default only when stderr is a terminal: logs and pipes
// get nothing). The measured threads only store a relaxed atomic.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace nocopy::bench {

class ProgressBar {
 public:
  ProgressBar(bool enabled, std::size_t total_samples);
  ~ProgressBar();  // clears the line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Starts sample `index` (0-based) moving `bytes` in total.
  void begin(std::size_t index, std::string label, std::uint64_t bytes);
  // Advanced by the measured code: bytes done in the current sample.
  std::atomic<std::uint64_t>& bytes_done() { return done_; }
  bool enabled() const { return enabled_; }

 private:
  void tick();
  void draw();

  bool enabled_;
  std::size_t total_;
  std::atomic<std::uint64_t> done_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::size_t index_ = 0;
  std::string label_;
  std::uint64_t bytes_ = 0;
  std::thread ticker_;
};

}  // namespace nocopy::bench
