#include "broker/admin_thread.h"

#include <spdlog/spdlog.h>

namespace nocopy::broker {

AdminThread::AdminThread() : thread_([this] { run(); }) {}

AdminThread::~AdminThread() { stop(); }

void AdminThread::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void AdminThread::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AdminThread::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("admin task failed: {}", e.what());
    }
  }
}

}  // namespace nocopy::broker
