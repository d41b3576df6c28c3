#include "bench/progress.h"

#include <cstdio>

#include <fmt/format.h>

namespace nocopy::bench {

ProgressBar::ProgressBar(bool enabled, std::size_t total_samples) : enabled_(enabled), total_(total_samples) {
  if (enabled_) ticker_ = std::thread([this] { tick(); });
}

ProgressBar::~ProgressBar() {
  if (!enabled_) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  ticker_.join();
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

void ProgressBar::begin(std::size_t index, std::string label, std::uint64_t bytes) {
  done_.store(0, std::memory_order_relaxed);
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  index_ = index;
  label_ = std::move(label);
  bytes_ = bytes;
}

void ProgressBar::tick() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    draw();
    cv_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

void ProgressBar::draw() {
  constexpr int kWidth = 30;
  const double inner = bytes_ > 0 ? std::min(1.0, static_cast<double>(done_.load(std::memory_order_relaxed)) /
                                                      static_cast<double>(bytes_))
                                  : 0.0;
  const double overall = total_ > 0 ? (static_cast<double>(index_) + inner) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(overall * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  const std::string line =
      fmt::format("\r\033[K[{}] {:3.0f}%  sample {}/{}  {}", bar, overall * 100.0, index_ + 1, total_, label_);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace nocopy::bench
