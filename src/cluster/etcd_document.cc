#include "cluster/etcd_document.h"

#include <random>
#include <thread>

namespace nocopy::cluster {

using namespace std::chrono_literals;

EtcdDocument::EtcdDocument(Options opts)
    : opts_(std::move(opts)),
      etcd_({opts_.endpoints, 2000ms, 1000ms}),
      watch_({opts_.endpoints, opts_.key, opts_.key},
             {[this] { read_key(); }, [this] { return revision(); },
              [this](std::int64_t, const std::vector<WatchEvent>& events) { on_events(events); }}) {}

EtcdDocument::~EtcdDocument() { stop(); }

void EtcdDocument::start() {
  retry_until(std::chrono::steady_clock::now() + opts_.start_timeout, "reading " + opts_.key, [this] { read_key(); });
  watch_.start();
}

void EtcdDocument::stop() { watch_.stop(); }

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

}  // namespace nocopy::cluster
