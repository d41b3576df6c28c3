#include "broker/coordinator_loader.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <optional>

#include "broker/partition.h"
#include "broker/topic_registry.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

CoordinatorLoader::CoordinatorLoader(Hooks hooks) : hooks_(std::move(hooks)) {
  thread_ = std::thread([this] { run(); });
}

CoordinatorLoader::~CoordinatorLoader() { stop(); }

void CoordinatorLoader::stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void CoordinatorLoader::enqueue(std::int32_t p, std::int32_t epoch) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(p, epoch);
  }
  cv_.notify_all();
}

void CoordinatorLoader::run() {
  std::unique_lock lock(mu_);
  while (!stop_.load()) {
    if (queue_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    auto [p, epoch] = queue_.front();
    queue_.pop_front();
    lock.unlock();
    try {
      load_one(p, epoch);
    } catch (const std::exception& e) {
      spdlog::error("{}: loading {}-{}: {}", hooks_.name, hooks_.topic, p, e.what());
    }
    lock.lock();
  }
}

void CoordinatorLoader::load_one(std::int32_t p, std::int32_t epoch) {
  std::shared_ptr<Partition> part;
  const auto t0 = Clock::now();
  for (;;) {
    if (stop_.load() || !hooks_.wanted(p, epoch)) return;
    part = hooks_.topics->find(hooks_.topic, p);
    std::optional<replication::ReplicaManager::View> view;
    if (part) view = hooks_.replicas->view(hooks_.topic, p);
    if (part && view && view->role == replication::Role::leader &&
        (!hooks_.require_view_epoch || view->leader_epoch >= epoch))
      break;
    if (Clock::now() - t0 > std::chrono::seconds(60)) {
      spdlog::error("{}: {}-{} never became loadable here (no local log or not its leader after 60 s)", hooks_.name,
                    hooks_.topic, p);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  hooks_.load(std::move(part), p, epoch, t0);
}

}  // namespace nocopy::broker
