#include "cluster/etcd_watch_loop.h"

#include <spdlog/spdlog.h>

namespace nocopy::cluster {

EtcdWatchLoop::EtcdWatchLoop(Options opts, Callbacks callbacks) : opts_(std::move(opts)), cb_(std::move(callbacks)) {}

EtcdWatchLoop::~EtcdWatchLoop() { stop(); }

void EtcdWatchLoop::start() {
  std::lock_guard lk(mu_);
  if (!stop_ && !thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void EtcdWatchLoop::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EtcdWatchLoop::restart(std::string reason) {
  std::lock_guard lk(mu_);
  if (restart_.empty()) restart_ = reason.empty() ? "a restart was asked for" : std::move(reason);
  cv_.notify_all();
}

void EtcdWatchLoop::pause(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stop_; });
}

void EtcdWatchLoop::run() {
  bool need_read = false;
  std::size_t endpoint = 0;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stop_) return;
    }
    if (need_read) {
      try {
        cb_.read();
        need_read = false;
      } catch (const EtcdError& e) {
        spdlog::warn("cluster: reading {}: {}", opts_.what, e.what());
        pause(opts_.retry_pause);
        continue;
      }
    }
    const std::string reason = watch_until_end(opts_.endpoints[endpoint % opts_.endpoints.size()]);
    if (reason.empty()) return;
    spdlog::warn("cluster: {}; reading {} again", reason, opts_.what);
    ++endpoint;
    need_read = true;
    pause(opts_.restart_pause);
  }
}

std::string EtcdWatchLoop::watch_until_end(const std::string& endpoint) {
  std::string ended;  // set by the stream's thread, under mu_
  EtcdWatch watch(endpoint, opts_.prefix, cb_.revision() + 1, cb_.on_events, [this, &ended](const std::string& why) {
    std::lock_guard lk(mu_);
    ended = why.empty() ? "the watch ended" : why;
    cv_.notify_all();
  });
  std::string reason;
  {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return stop_ || !ended.empty() || !restart_.empty(); });
    if (!stop_) reason = ended.empty() ? restart_ : ended;
    restart_.clear();
  }
  watch.stop();
  return reason;
}

}  // namespace nocopy::cluster
