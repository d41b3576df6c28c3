#include "broker/txn_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <stdexcept>

#include "broker/coordinator_partition.h"
#include "broker/groups_service.h"
#include "broker/partition.h"
#include "broker/stored_batches.h"
#include "broker/txn_marker_sender.h"
#include "broker/txn_state_log.h"
#include "broker/txn_verifier.h"
#include "buf/chain.h"
#include "io/clock.h"
#include "kafka/error_code.h"
#include "log/record_batch.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

std::int64_t TxnService::wall_ms() { return io::wall_clock_ms(); }

TxnService::TxnService(const Config& cfg, TopicRegistry& topics, GroupsService* groups,
                       std::function<std::int64_t()> allocate_producer_id)
    : cfg_(cfg),
      topics_(topics),
      groups_(groups),
      allocate_(std::move(allocate_producer_id)),
      clustered_(cfg.cluster_mode()) {
  if (!clustered_) {
    // Compacted, as Kafka's: each transactional id's latest state survives.
    const TopicConfig::Overrides state_config{{"cleanup.policy", "compact"}, {"segment.bytes", "104857600"}};
    if (!topics_.find(kTxnStateTopic)) {
      std::string msg;
      if (topics_.create(kTxnStateTopic, 1, state_config, false, &msg))
        throw std::runtime_error(std::string("cannot create ") + kTxnStateTopic + ": " + msg);
    }
    auto part = topics_.find(kTxnStateTopic, 0);
    if (!part) throw std::runtime_error(std::string("cannot open ") + kTxnStateTopic);
    auto s = std::make_shared<Shard>();
    s->log = std::make_unique<TxnStatePartitionLog>(part, nullptr, topics_, -1);
    s->coordinator = new_coordinator(s->log.get(), 0);
    replay(*part, *s->coordinator, false);
    s->coordinator->finish_replay(wall_ms());
    s->loaded = true;
    shards_.emplace(0, std::move(s));
  }
  ticker_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      tick_all();
    }
  });
}

TxnService::~TxnService() { stop(); }

void TxnService::stop() {
  stop_ = true;
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (loader_) loader_->stop();
  if (worker_.joinable()) worker_.join();
  if (verifier_) verifier_->stop();
  std::lock_guard lk(create_mu_);
  if (creator_.joinable()) creator_.join();
}

std::unique_ptr<txn::TxnCoordinator> TxnService::new_coordinator(TxnStatePartitionLog* log, std::int32_t coordinator_epoch) {
  txn::TxnCoordinatorConfig c;
  c.coordinator_epoch = coordinator_epoch;
  // Cluster mode: markers go over the network (up to kMarkerDeadlineMs
  // against a dead leader); EndTxn answers before them (handlers/txn.cc).
  c.complete_after_answer = clustered_;
  c.transaction_version = cfg_.transaction_version;
  return std::make_unique<txn::TxnCoordinator>(c, log, static_cast<txn::TxnParticipants*>(this), allocate_);
}

void TxnService::replay(Partition& part, txn::TxnCoordinator& c, bool to_log_end) {
  std::size_t replayed = 0, skipped = 0;
  for_each_stored_batch(
      part,
      [&](std::span<const std::byte> batch, std::int64_t base_offset) {
        auto recs = log::parse_records(batch);
        if (!recs) return;
        for (auto& rec : *recs) {
          if (!rec.key) continue;
          const auto key = std::as_bytes(std::span(rec.key->data(), rec.key->size()));
          const auto value = rec.value ? std::as_bytes(std::span(rec.value->data(), rec.value->size()))
                                       : std::span<const std::byte>{};
          if (c.replay(key, value)) {
            ++replayed;
          } else {
            ++skipped;
            spdlog::warn("transactions: skipping undecodable record at offset {} of {}-{}", base_offset,
                         kTxnStateTopic, part.index());
          }
        }
      },
      to_log_end);
  spdlog::info("transactions: replayed {} record(s) from {}-{} ({} skipped), {} transactional id(s)", replayed,
               kTxnStateTopic, part.index(), skipped, c.size());
}

void TxnService::tick_all() {
  std::vector<std::shared_ptr<Shard>> loaded;
  {
    std::lock_guard lock(mu_);
    for (auto& [p, s] : shards_)
      if (s->loaded) loaded.push_back(s);
  }
  for (auto& s : loaded) {
    if (stop_.load()) return;
    s->coordinator->tick(wall_ms());
  }
}

TxnService::Route TxnService::route(const std::string& transactional_id) {
  if (!clustered_) {
    std::lock_guard lock(mu_);
    auto& s = shards_.begin()->second;
    return {std::shared_ptr<txn::TxnCoordinator>(s, s->coordinator.get()), kafka::ErrorCode::none};
  }
  const std::int32_t n = partitions_now();
  if (n <= 0) {
    ensure_state_topic();
    return {nullptr, kafka::ErrorCode::coordinator_not_available};
  }
  std::lock_guard lock(mu_);
  auto it = shards_.find(coordinator_partition(transactional_id, n));
  if (it == shards_.end()) return {nullptr, kafka::ErrorCode::not_coordinator};
  if (!it->second->loaded) return {nullptr, kafka::ErrorCode::coordinator_load_in_progress};
  return {std::shared_ptr<txn::TxnCoordinator>(it->second, it->second->coordinator.get()), kafka::ErrorCode::none};
}

std::vector<std::shared_ptr<txn::TxnCoordinator>> TxnService::coordinators() {
  std::vector<std::shared_ptr<txn::TxnCoordinator>> out;
  std::lock_guard lock(mu_);
  for (auto& [p, s] : shards_)
    if (s->loaded) out.emplace_back(s, s->coordinator.get());
  return out;
}

kafka::ErrorCode TxnService::verify_partition(std::int64_t producer_id, std::int16_t epoch, const std::string& topic,
                                              std::int32_t partition) {
  // A single node's one coordinator is set in the constructor and never replaced.
  if (!clustered_) return shards_.begin()->second->coordinator->verify_partition(producer_id, epoch, topic, partition);
  for (const auto& c : coordinators())
    if (c->knows_producer(producer_id)) return c->verify_partition(producer_id, epoch, topic, partition);
  return kafka::ErrorCode::none;  // coordinated by another broker: not verified here
}

bool TxnService::coordinates(std::int64_t producer_id) {
  for (const auto& c : coordinators())
    if (c->knows_producer(producer_id)) return true;
  return false;
}

void TxnService::verify_remote(std::string transactional_id, std::int64_t producer_id, std::int16_t epoch,
                               std::vector<txn::TopicPartition> partitions,
                               std::function<void(std::vector<kafka::ErrorCode>)> done) {
  if (!verifier_) return done(std::vector<kafka::ErrorCode>(partitions.size(), kafka::ErrorCode::none));
  verifier_->verify(std::move(transactional_id), producer_id, epoch, std::move(partitions), std::move(done));
}

void TxnService::add_to_txn(std::string transactional_id, std::int64_t producer_id, std::int16_t epoch,
                            std::vector<txn::TopicPartition> partitions,
                            std::function<void(std::vector<kafka::ErrorCode>)> done) {
  Route here = route(transactional_id);
  if (!here.coordinator && here.error == kafka::ErrorCode::not_coordinator && verifier_) {
    verifier_->verify(std::move(transactional_id), producer_id, epoch, std::move(partitions), std::move(done), true);
    return;
  }
  run([this, id = std::move(transactional_id), producer_id, epoch, partitions = std::move(partitions),
       done = std::move(done)] {
    // Routed again where it runs: leadership may have moved meanwhile.
    const Route r = route(id);
    std::vector<kafka::ErrorCode> out(partitions.size(), txn::add_verdict(r.error));
    if (!r.coordinator || partitions.empty()) return done(std::move(out));
    kafka::AddPartitionsToTxnRequest one;
    one.transactional_id = id;
    one.producer_id = producer_id;
    one.producer_epoch = epoch;
    for (const auto& tp : partitions) {
      if (one.topics.empty() || one.topics.back().name != tp.topic) one.topics.emplace_back().name = tp.topic;
      one.topics.back().partitions.push_back(tp.partition);
    }
    const auto answer = r.coordinator->add_partitions(one, 5, wall_ms());
    for (std::size_t i = 0; i < partitions.size(); ++i)
      for (const auto& t : answer.results)
        for (const auto& p : t.results)
          if (t.name == partitions[i].topic && p.partition_index == partitions[i].partition)
            out[i] = txn::add_verdict(static_cast<kafka::ErrorCode>(p.partition_error_code));
    done(std::move(out));
  });
}

void TxnService::run(std::function<void()> job) {
  if (!clustered_) return job();
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void TxnService::work_loop() {
  std::unique_lock lock(mu_);
  while (!stop_.load()) {
    if (jobs_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("transactions: request failed: {}", e.what());
    }
    lock.lock();
  }
}

TxnService::ShardState TxnService::shard_state(std::int32_t p) const {
  std::lock_guard lock(mu_);
  auto it = shards_.find(p);
  if (it == shards_.end()) return ShardState::absent;
  return it->second->loaded ? ShardState::loaded : ShardState::loading;
}

bool TxnService::partition_exists(const std::string& topic, std::int32_t partition) {
  if (topic == kTxnStateTopic || topic == kOffsetsTopic) return false;
  return topics_.find(topic, partition) != nullptr;
}

bool TxnService::partition_exists_for_broker(const std::string& topic, std::int32_t partition) {
  // The group coordinator named the group's partition itself.
  if (topic == kOffsetsTopic) return partition >= 0;
  return partition_exists(topic, partition);
}

std::int16_t TxnService::write_marker(const txn::TopicPartition& tp, std::int64_t producer_id, std::int16_t epoch,
                                      bool commit, std::int32_t coordinator_epoch) {
  if (clustered_) return markers_->write(tp.topic, tp.partition, producer_id, epoch, commit, coordinator_epoch);
  auto p = topics_.find(tp.topic, tp.partition);
  if (!p) return kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition);
  const std::int16_t e = p->append_marker(producer_id, epoch, commit, coordinator_epoch);
  // The group coordinator applies or drops the transaction's offsets there.
  if (e == 0 && tp.topic == kOffsetsTopic && groups_) groups_->complete_txn(tp.partition, producer_id, commit);
  return e;
}

std::optional<txn::TopicPartition> TxnService::offsets_partition(const std::string& group) {
  if (!groups_) return std::nullopt;
  const auto p = groups_->partition_of(group);
  if (!p) return std::nullopt;
  return txn::TopicPartition{kOffsetsTopic, *p};
}

}  // namespace nocopy::broker
