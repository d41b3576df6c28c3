#include "cluster/etcd_document.h"

#include <spdlog/spdlog.h>

#include <random>

namespace nocopy::cluster {

using namespace std::chrono_literals;

EtcdDocument::EtcdDocument(Options opts) : opts_(std::move(opts)), etcd_({opts_.endpoints, 2000ms, 1000ms}) {}

EtcdDocument::~EtcdDocument() { stop(); }

void EtcdDocument::start() {
  const auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
  for (;;) {
    try {
      read_key();
      break;
    } catch (const EtcdError& e) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
      spdlog::warn("cluster: reading {}: {} (retrying)", opts_.key, e.what());
      std::this_thread::sleep_for(500ms);
    }
  }
  watch_thread_ = std::thread([this] { watch_loop(); });
}

void EtcdDocument::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_.exchange(true)) return;
  }
  cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
}

void EtcdDocument::subscribe(Listener listener) {
  std::lock_guard lk(deliver_mu_);
  listener_ = std::move(listener);
  try {
    listener_(current_);
  } catch (...) {
    listener_ = nullptr;  // its owner is going away
    throw;
  }
}

std::int64_t EtcdDocument::revision() const {
  std::lock_guard lk(deliver_mu_);
  return revision_;
}

void EtcdDocument::deliver(const Text& text, std::int64_t revision) {
  std::lock_guard lk(deliver_mu_);
  if (revision <= revision_) return;
  revision_ = revision;
  current_ = text;
  if (listener_) listener_(current_);
}

void EtcdDocument::read_key() {
  auto r = etcd_.get(opts_.key);
  deliver(r.kvs.empty() ? Text{} : Text{r.kvs.front().value}, r.revision);
}

void EtcdDocument::update(const Change& change) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  for (int attempt = 0; attempt < opts_.max_attempts; ++attempt) {
    auto r = etcd_.get(opts_.key);
    const Text current = r.kvs.empty() ? Text{} : Text{r.kvs.front().value};
    const Text next = change(current);
    if (!next) {
      deliver(current, r.revision);
      return;
    }
    const auto cond = r.kvs.empty() ? Compare::absent(opts_.key) : Compare::mod_revision(opts_.key, r.kvs.front().mod_revision);
    auto t = etcd_.txn({cond}, {Op::put(opts_.key, *next)});
    if (t.succeeded) {
      deliver(next, t.revision);
      return;
    }
    ++conflicts_;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (5 + 5 * std::min(attempt, 10))));
  }
  throw EtcdError("etcd key " + opts_.key + ": changed by others at each of " + std::to_string(opts_.max_attempts) +
                  " attempts to update it");
}

void EtcdDocument::on_events(const std::vector<WatchEvent>& events) {
  for (const auto& e : events) {
    if (e.kv.key != opts_.key) continue;  // the watch is of a prefix
    if (e.type == WatchEvent::Type::del)
      deliver(Text{}, e.kv.mod_revision);
    else
      deliver(Text{e.kv.value}, e.kv.mod_revision);
  }
}

void EtcdDocument::watch_loop() {
  bool need_read = false;
  while (!stop_.load()) {
    if (need_read) {
      try {
        read_key();
        need_read = false;
      } catch (const EtcdError& e) {
        spdlog::warn("cluster: reading {}: {}", opts_.key, e.what());
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, 500ms, [&] { return stop_.load(); });
        continue;
      }
    }
    bool ended = false;
    std::string reason;
    const auto& endpoint = opts_.endpoints[watch_endpoint_ % opts_.endpoints.size()];
    auto watch = std::make_unique<EtcdWatch>(
        endpoint, opts_.key, revision() + 1,
        [this](std::int64_t, const std::vector<WatchEvent>& evs) { on_events(evs); },
        [this, &ended, &reason](const std::string& why) {
          std::lock_guard lk(mu_);
          reason = why;
          ended = true;
          cv_.notify_all();
        });
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_.load() || ended; });
    }
    watch->stop();
    watch.reset();
    if (stop_.load()) break;
    spdlog::warn("cluster: {}; reading {} again", reason, opts_.key);
    ++watch_endpoint_;
    need_read = true;
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, 300ms, [&] { return stop_.load(); });
  }
}

}  // namespace nocopy::cluster
