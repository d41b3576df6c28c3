// TxnService in cluster mode: following the leadership of
// __transaction_state's partitions, loading a led partition into its own
// coordinator, and creating the topic through etcd (txn_service.h).
#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "broker/partition.h"
#include "broker/txn_marker_sender.h"
#include "broker/txn_service.h"
#include "broker/txn_state_log.h"
#include "broker/txn_verifier.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

namespace {
// How long one marker is retried against the partition's current leader
// before the transaction is left to the ticker.
constexpr int kMarkerDeadlineMs = 6000;
}  // namespace

void TxnService::set_cluster(ClusterHooks hooks) {
  if (!clustered_) throw std::logic_error("TxnService::set_cluster on a single node");
  {
    std::lock_guard lock(mu_);
    std::lock_guard create_lock(create_mu_);
    cluster_ = std::move(hooks);
    const auto auth = cluster_.replicas ? cluster_.replicas->options().inter_broker : replication::InterBrokerAuth{};
    markers_ = std::make_unique<TxnMarkerSender>(cluster_.leader_of, kMarkerDeadlineMs, auth);
    verifier_ = std::make_unique<TxnVerifier>(cluster_.leader_of, cluster_.state_partitions, auth);
    CoordinatorLoader::Hooks h;
    h.topic = kTxnStateTopic;
    h.name = "transactions";
    h.topics = &topics_;
    h.replicas = cluster_.replicas;
    h.require_view_epoch = true;
    h.wanted = [this](std::int32_t p, std::int32_t epoch) { return load_wanted(p, epoch); };
    h.load = [this](std::shared_ptr<Partition> part, std::int32_t p, std::int32_t epoch,
                    CoordinatorLoader::Clock::time_point t0) { load(std::move(part), p, epoch, t0); };
    loader_ = std::make_unique<CoordinatorLoader>(std::move(h));
  }
  worker_ = std::thread([this] { work_loop(); });
}

std::int32_t TxnService::partitions_now() const {
  if (!clustered_) return 1;
  return cluster_.state_partitions ? cluster_.state_partitions() : 0;
}

void TxnService::ensure_state_topic() {
  if (!clustered_ || stop_.load()) return;
  if (creating_.exchange(true)) return;
  std::lock_guard lk(create_mu_);
  if (creator_.joinable()) creator_.join();  // the previous attempt has ended (creating_ was false)
  if (!cluster_.create_state_topic) {
    creating_ = false;
    return;
  }
  creator_ = std::thread([this] {
    try {
      if (!cluster_.create_state_topic()) spdlog::warn("transactions: {} not created yet", kTxnStateTopic);
    } catch (const std::exception& e) {
      spdlog::warn("transactions: creating {}: {}", kTxnStateTopic, e.what());
    }
    creating_ = false;
  });
}

// A new leader epoch always reloads: appends are checked against the shard's
// epoch and markers carry it as the coordinator epoch.
void TxnService::leadership(std::int32_t partition, bool leads, std::int32_t leader_epoch) {
  std::lock_guard lock(mu_);
  auto it = shards_.find(partition);
  if (leads) {
    if (it != shards_.end() && it->second->leader_epoch == leader_epoch) return;
    auto s = std::make_shared<Shard>();
    s->partition = partition;
    s->leader_epoch = leader_epoch;
    shards_[partition] = std::move(s);
    loader_->enqueue(partition, leader_epoch);
    spdlog::info("transactions: loading {}-{} (leader epoch {})", kTxnStateTopic, partition, leader_epoch);
    return;
  }
  if (it == shards_.end()) return;
  const std::size_t ids = it->second->coordinator ? it->second->coordinator->size() : 0;
  shards_.erase(it);
  spdlog::info("transactions: unloaded {}-{} ({} transactional id(s)): no longer its leader", kTxnStateTopic,
               partition, ids);
}

bool TxnService::load_wanted(std::int32_t p, std::int32_t epoch) const {
  std::lock_guard lock(mu_);
  auto it = shards_.find(p);
  return it != shards_.end() && !it->second->loaded && it->second->leader_epoch == epoch;
}

// Loader thread (CoordinatorLoader): replays the partition into a new
// coordinator outside the lock and installs it if the shard is still the one
// asked for. Transactions left Prepare* are completed by the ticker, so that
// markers to a partition without a leader yet do not hold the load.
void TxnService::load(std::shared_ptr<Partition> part, std::int32_t p, std::int32_t epoch,
                      std::chrono::steady_clock::time_point t0) {
  auto log = std::make_unique<TxnStatePartitionLog>(part, cluster_.replicas, topics_, epoch);
  auto coordinator = new_coordinator(log.get(), epoch);
  replay(*part, *coordinator, true);
  std::lock_guard lock(mu_);
  auto it = shards_.find(p);
  if (it == shards_.end() || it->second->loaded || it->second->leader_epoch != epoch) return;
  it->second->log = std::move(log);
  it->second->coordinator = std::move(coordinator);
  it->second->loaded = true;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("transactions: loaded {}-{} in {} ms (coordinator epoch {})", kTxnStateTopic, p, ms, epoch);
}

}  // namespace nocopy::broker
