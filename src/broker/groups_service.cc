#include "broker/groups_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <stdexcept>

#include "broker/coordinator_partition.h"
#include "io/clock.h"
#include "broker/stored_batches.h"
#include "kafka/api_key.h"
#include "kafka/error_code.h"
#include "log/control_batch.h"
#include "log/record_batch.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {


// One partition of __consumer_offsets as the coordinator's store. Single
// node: plain appends. Cluster mode (`replicas` set): appended only by an
// unfenced leader whose ISR meets min.insync.replicas, stamped with its
// leader epoch; the last appended offset is what answers wait for.
class GroupsService::OffsetsLog final : public OffsetLog {
 public:
  OffsetsLog(std::shared_ptr<Partition> p, replication::ReplicaManager* replicas, const TopicRegistry& topics)
      : p_(std::move(p)), replicas_(replicas), topics_(topics) {}
  bool append(std::span<const std::byte> key, std::span<const std::byte> value) override {
    std::string k(reinterpret_cast<const char*>(key.data()), key.size());
    std::string v(reinterpret_cast<const char*>(value.data()), value.size());
    auto batch = log::BatchBuilder().timestamp(io::wall_clock_ms()).add(std::move(k), std::move(v)).build();
    return store(batch, "");
  }
  // One batch of null-valued records: appended whole or not at all.
  bool append_tombstones(std::span<const std::vector<std::byte>> keys) override {
    if (keys.empty()) return true;
    log::BatchBuilder b;
    b.timestamp(io::wall_clock_ms());
    for (const auto& k : keys) b.add(std::string(reinterpret_cast<const char*>(k.data()), k.size()), std::nullopt);
    auto batch = b.build();
    return store(batch, "tombstone ");
  }
  // The offsets of a transaction: one transactional batch of the producer
  // (no sequence: the partition checks only its epoch).
  bool append_txn(std::int64_t producer_id, std::int16_t epoch, const std::vector<PendingTxnOffsets::Record>& records) {
    log::BatchBuilder b;
    b.timestamp(io::wall_clock_ms()).producer(producer_id, epoch, -1).attributes(log::kAttrTransactional);
    for (const auto& r : records)
      b.add(std::string(reinterpret_cast<const char*>(r.key.data()), r.key.size()),
            std::string(reinterpret_cast<const char*>(r.value.data()), r.value.size()));
    auto batch = b.build();
    return store(batch, "transactional ");
  }
  Partition& partition() { return *p_; }
  std::int64_t last_appended() const { return last_appended_; }

 private:
  bool store(std::vector<std::byte>& batch, const char* what) {
    std::int32_t epoch = -1;
    if (replicas_ != nullptr) {
      const auto view = replicas_->view(kOffsetsTopic, p_->index());
      if (!view || view->role != replication::Role::leader || view->fenced) {
        spdlog::warn("{}-{}: {}append refused: not the unfenced leader", kOffsetsTopic, p_->index(), what);
        return false;
      }
      const auto cfg = topics_.config_of(kOffsetsTopic);
      const auto min_isr = static_cast<std::size_t>(std::max(cfg ? cfg->min_insync_replicas : 1, 1));
      if (view->isr_size < min_isr) {
        spdlog::warn("{}-{}: {}append refused: ISR of {} below min.insync.replicas {}", kOffsetsTopic, p_->index(),
                     what, view->isr_size, min_isr);
        return false;
      }
      epoch = view->leader_epoch;
    }
    auto r = p_->append(batch, false, epoch);
    if (r.error) {
      spdlog::error("{}-{} {}append failed: error {}", kOffsetsTopic, p_->index(), what, r.error);
      return false;
    }
    last_appended_ = r.last_offset;
    if (replicas_ != nullptr) replicas_->on_leader_append(kOffsetsTopic, p_->index());
    return true;
  }

  std::shared_ptr<Partition> p_;
  replication::ReplicaManager* replicas_;
  const TopicRegistry& topics_;
  std::int64_t last_appended_ = -1;
};

namespace {

// Compacted, as Kafka's (segment.bytes: offsets.topic.segment.bytes): each
// group's latest metadata and each partition's latest commit survive the
// log cleaner, deleted groups' tombstones leave after delete.retention.ms.
TopicConfig::Overrides offsets_overrides(const Config& cfg) {
  return {{"cleanup.policy", "compact"}, {"segment.bytes", std::to_string(cfg.offsets_segment_bytes)}};
}

// Single node: the compacted __consumer_offsets partition, created on first start.
std::shared_ptr<Partition> open_offsets_partition(const Config& cfg, TopicRegistry& topics) {
  if (auto t = topics.find(kOffsetsTopic); !t) {
    std::string msg;
    if (topics.create(kOffsetsTopic, 1, offsets_overrides(cfg), false, &msg))
      throw std::runtime_error("cannot create " + std::string(kOffsetsTopic) + ": " + msg);
  } else if (!t->config->compacts()) {
    // A data directory from before the offsets topic was compacted.
    std::string msg;
    auto edit = [](TopicConfig::Overrides& o, std::string*) -> std::int16_t {
      o["cleanup.policy"] = "compact";
      return 0;
    };
    if (topics.alter_config(kOffsetsTopic, edit, false, &msg))
      spdlog::warn("groups: cannot make {} compacted: {}", kOffsetsTopic, msg);
  }
  auto part = topics.find(kOffsetsTopic, 0);
  if (!part) throw std::runtime_error("cannot open __consumer_offsets");
  return part;
}

struct ReplayCounts {
  std::size_t replayed = 0;
  std::size_t skipped = 0;
};

// Replays the records of one batch (uncompressed, written by us) into the
// coordinator. A transactional batch's offsets go to `pending` under its
// producer; a marker applies (COMMIT) or drops (ABORT) what its producer has
// pending.
void replay_batch(std::span<const std::byte> batch, std::int64_t base_offset, GroupCoordinator& coordinator,
                  PendingTxnOffsets& pending, ReplayCounts& n) {
  const log::BatchHeader h = log::parse_batch_header(batch);
  if (h.is_control()) {
    if (auto m = log::parse_control_batch(batch)) {
      const bool commit = m->type == log::ControlType::commit;
      for (auto& r : pending.take(h.producer_id))
        if (commit) coordinator.replay(r.key, r.value);
    }
    return;
  }
  auto recs = log::parse_records(batch);
  if (!recs) {
    spdlog::warn("groups: skipping unreadable batch at offset {} of {}", base_offset, kOffsetsTopic);
    return;
  }
  for (auto& rec : *recs) {
    if (!rec.key) continue;
    const auto key = std::as_bytes(std::span(rec.key->data(), rec.key->size()));
    if (h.is_transactional() && rec.value) {
      const auto k = GroupCoordinator::decode_offset_key(key);
      if (!k) {
        ++n.skipped;
        continue;
      }
      const auto value = std::as_bytes(std::span(rec.value->data(), rec.value->size()));
      pending.add(h.producer_id, *k, {{key.begin(), key.end()}, {value.begin(), value.end()}});
      ++n.replayed;
      continue;
    }
    // A null value is a tombstone (DeleteGroups, OffsetDelete).
    const bool ok = rec.value
                        ? coordinator.replay(key, std::as_bytes(std::span(rec.value->data(), rec.value->size())))
                        : coordinator.replay_tombstone(key);
    if (ok) {
      ++n.replayed;
    } else {
      ++n.skipped;
      spdlog::warn("groups: skipping undecodable record at offset {} of {}", base_offset, kOffsetsTopic);
    }
  }
}

// Replays every stored record, oldest first (to the high watermark, or the
// log end for a new leader).
ReplayCounts replay_offsets(Partition& part, GroupCoordinator& coordinator, PendingTxnOffsets& pending,
                            bool to_log_end) {
  ReplayCounts n;
  for_each_stored_batch(
      part,
      [&](std::span<const std::byte> batch, std::int64_t base_offset) {
        replay_batch(batch, base_offset, coordinator, pending, n);
      },
      to_log_end);
  return n;
}

}  // namespace

std::unique_ptr<GroupCoordinator> GroupsService::new_coordinator(OffsetLog* log) const {
  GroupCoordinatorConfig gcfg;
  gcfg.initial_rebalance_delay = std::chrono::milliseconds(cfg_.group_initial_rebalance_delay_ms);
  gcfg.member_id_seed = std::random_device{}();
  return std::make_unique<GroupCoordinator>(gcfg, log);
}

GroupsService::GroupsService(const Config& cfg, TopicRegistry& topics)
    : cfg_(cfg), topics_(topics), clustered_(cfg.cluster_mode()) {
  if (!cfg_.cluster_mode()) {
    auto part = open_offsets_partition(cfg_, topics_);
    auto shard = std::make_unique<Shard>();
    shard->log = std::make_unique<OffsetsLog>(part, nullptr, topics_);
    shard->coordinator = new_coordinator(shard->log.get());
    const ReplayCounts n = replay_offsets(*part, *shard->coordinator, shard->txn_offsets, false);
    // Restored members' sessions start now: a member that does not come
    // back expires one session timeout after the restart.
    shard->coordinator->finish_replay(GroupCoordinator::Clock::now());
    shard->loaded = true;
    const std::size_t groups = shard->coordinator->group_count();
    spdlog::info("groups: replayed {} record{} from {} ({} skipped), {} group{}", n.replayed,
                 n.replayed == 1 ? "" : "s", kOffsetsTopic, n.skipped, groups, groups == 1 ? "" : "s");
    shards_.emplace(0, std::move(shard));
  }
  ticker_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard lock(mu_);
      for (auto& [p, s] : shards_)
        if (s->loaded) s->coordinator->tick(GroupCoordinator::Clock::now());
    }
  });
}

GroupsService::~GroupsService() { stop(); }

void GroupsService::stop() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
  if (loader_) loader_->stop();
  std::lock_guard lk(create_mu_);
  if (creator_.joinable()) creator_.join();
}

void GroupsService::set_cluster(ClusterHooks hooks) {
  if (!clustered_) throw std::logic_error("GroupsService::set_cluster on a single node");
  {
    // Requests may already arrive (the listeners are up): route() reads the
    // hooks under mu_, ensure_offsets_topic() under create_mu_.
    std::lock_guard lock(mu_);
    std::lock_guard create_lock(create_mu_);
    cluster_ = std::move(hooks);
    CoordinatorLoader::Hooks h;
    h.topic = kOffsetsTopic;
    h.name = "groups";
    h.topics = &topics_;
    h.replicas = cluster_.replicas;
    h.wanted = [this](std::int32_t p, std::int32_t epoch) { return load_wanted(p, epoch); };
    h.load = [this](std::shared_ptr<Partition> part, std::int32_t p, std::int32_t epoch,
                    CoordinatorLoader::Clock::time_point t0) { load(std::move(part), p, epoch, t0); };
    loader_ = std::make_unique<CoordinatorLoader>(std::move(h));
  }
}

std::int32_t GroupsService::partitions_now() const {
  if (!clustered_) return 1;
  return cluster_.offsets_partitions ? cluster_.offsets_partitions() : 0;
}

void GroupsService::ensure_offsets_topic() {
  if (!clustered_ || stop_.load()) return;
  if (creating_.exchange(true)) return;
  std::lock_guard lk(create_mu_);
  if (creator_.joinable()) creator_.join();  // the previous attempt has ended (creating_ was false)
  if (!cluster_.create_offsets_topic) {
    creating_ = false;
    return;
  }
  creator_ = std::thread([this] {
    try {
      if (!cluster_.create_offsets_topic()) spdlog::warn("groups: {} not created yet", kOffsetsTopic);
    } catch (const std::exception& e) {
      spdlog::warn("groups: creating {}: {}", kOffsetsTopic, e.what());
    }
    creating_ = false;
  });
}

void GroupsService::leadership(std::int32_t partition, bool leads, std::int32_t leader_epoch) {
  std::lock_guard lock(mu_);
  auto it = shards_.find(partition);
  if (leads) {
    if (it != shards_.end()) {
      // Still the leader (a newer epoch without another leader between):
      // what is in memory is this log's state. A load under way for the
      // older epoch gives up when it sees the new one: load it again.
      if (it->second->leader_epoch != leader_epoch) {
        it->second->leader_epoch = leader_epoch;
        if (!it->second->loaded) loader_->enqueue(partition, leader_epoch);
      }
      return;
    }
    auto s = std::make_unique<Shard>();
    s->partition = partition;
    s->leader_epoch = leader_epoch;
    shards_.emplace(partition, std::move(s));
    loader_->enqueue(partition, leader_epoch);
    spdlog::info("groups: loading {}-{} (leader epoch {})", kOffsetsTopic, partition, leader_epoch);
    return;
  }
  if (it == shards_.end()) return;
  std::size_t groups = 0;
  if (it->second->coordinator) {
    groups = it->second->coordinator->group_count();
    it->second->coordinator->unload(kafka::ErrorCode::not_coordinator);
  }
  shards_.erase(it);
  spdlog::info("groups: unloaded {}-{} ({} group{}): no longer its leader", kOffsetsTopic, partition, groups,
               groups == 1 ? "" : "s");
}

bool GroupsService::load_wanted(std::int32_t p, std::int32_t epoch) const {
  std::lock_guard lock(mu_);
  auto it = shards_.find(p);
  return it != shards_.end() && !it->second->loaded && it->second->leader_epoch == epoch;
}

// Loader thread (CoordinatorLoader): replays the partition into a new
// coordinator outside the lock and installs it if the shard is still the one
// asked for (same partition, same leader epoch, not unloaded meanwhile).
void GroupsService::load(std::shared_ptr<Partition> part, std::int32_t p, std::int32_t epoch,
                         std::chrono::steady_clock::time_point t0) {
  auto log = std::make_unique<OffsetsLog>(part, cluster_.replicas, topics_);
  auto coordinator = new_coordinator(log.get());
  PendingTxnOffsets pending;
  const ReplayCounts n = replay_offsets(*part, *coordinator, pending, true);
  std::lock_guard lock(mu_);
  auto it = shards_.find(p);
  if (it == shards_.end() || it->second->loaded || it->second->leader_epoch != epoch) return;
  coordinator->finish_replay(GroupCoordinator::Clock::now());
  const std::size_t groups = coordinator->group_count();
  Shard& s = *it->second;
  s.log = std::move(log);
  s.coordinator = std::move(coordinator);
  s.txn_offsets = std::move(pending);
  // Markers appended while the log was read (a second one is a no-op).
  for (auto [pid, commit] : s.markers_while_loading) complete_in(s, pid, commit);
  s.markers_while_loading.clear();
  s.loaded = true;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("groups: loaded {}-{} in {} ms: {} record{} ({} skipped), {} group{}", kOffsetsTopic, p, ms,
               n.replayed, n.replayed == 1 ? "" : "s", n.skipped, groups, groups == 1 ? "" : "s");
}

GroupsService::Route GroupsService::route(const std::string& group_id) {
  if (!clustered_) return {shards_.begin()->second.get(), kafka::ErrorCode::none};
  const std::int32_t n = partitions_now();
  if (n <= 0) {
    ensure_offsets_topic();
    return {nullptr, kafka::ErrorCode::coordinator_not_available};
  }
  auto it = shards_.find(coordinator_partition(group_id, n));
  if (it == shards_.end()) return {nullptr, kafka::ErrorCode::not_coordinator};
  if (!it->second->loaded) return {nullptr, kafka::ErrorCode::coordinator_load_in_progress};
  return {it->second.get(), kafka::ErrorCode::none};
}

std::int64_t GroupsService::pending_offset(std::int32_t p) const {
  auto it = shards_.find(p);
  if (it == shards_.end() || !it->second->log) return -1;
  return it->second->log->last_appended();
}

GroupsService::ShardState GroupsService::shard_state(std::int32_t p) const {
  std::lock_guard lock(mu_);
  auto it = shards_.find(p);
  if (it == shards_.end()) return ShardState::absent;
  return it->second->loaded ? ShardState::loaded : ShardState::loading;
}

std::size_t GroupsService::group_count(std::int32_t p) const {
  std::lock_guard lock(mu_);
  auto it = shards_.find(p);
  return it == shards_.end() || !it->second->coordinator ? 0 : it->second->coordinator->group_count();
}

std::optional<std::int32_t> GroupsService::partition_of(const std::string& group) {
  std::lock_guard lock(mu_);
  const std::int32_t n = partitions_now();
  if (n <= 0) {
    ensure_offsets_topic();
    return std::nullopt;
  }
  return coordinator_partition(group, n);
}

kafka::ErrorCode GroupsService::route_error(const std::string& group) {
  std::lock_guard lock(mu_);
  return route(group).error;
}

void GroupsService::txn_offset_commit(const kafka::TxnOffsetCommitRequest& req, std::int16_t version,
                                      std::function<void(const kafka::TxnOffsetCommitResponse&)> post) {
  kafka::TxnOffsetCommitResponse r;
  auto answer_all = [&](kafka::ErrorCode e) {
    for (const auto& t : req.topics) {
      auto& rt = r.topics.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, kafka::to_wire(e)});
    }
  };
  std::lock_guard lock(mu_);
  const Route rt = req.group_id.empty() ? Route{nullptr, kafka::ErrorCode::invalid_group_id} : route(req.group_id);
  if (rt.shard == nullptr) {
    answer_all(rt.error);
    return post(r);
  }
  // Zombie fencing (v3+): a member of an older generation stores nothing.
  if (const kafka::ErrorCode e = rt.shard->coordinator->txn_offset_commit_error(req, version); e != kafka::ErrorCode::none) {
    answer_all(e);
    return post(r);
  }
  std::vector<std::pair<GroupOffsetKey, PendingTxnOffsets::Record>> records;
  const std::int64_t now_ms = io::wall_clock_ms();
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions) {
      GroupOffsetKey k{req.group_id, t.name, p.partition_index};
      records.push_back({k,
                         {GroupCoordinator::encode_offset_key(k),
                          GroupCoordinator::encode_offset_value({p.committed_offset, p.committed_leader_epoch,
                                                                 p.committed_metadata.value_or(""), now_ms})}});
    }
  if (records.empty()) return post(r);
  std::vector<PendingTxnOffsets::Record> batch;
  for (const auto& [k, rec] : records) batch.push_back(rec);
  if (!rt.shard->log->append_txn(req.producer_id, req.producer_epoch, batch)) {
    answer_all(kafka::ErrorCode::coordinator_not_available);
    return post(r);
  }
  for (auto& [k, rec] : records) rt.shard->txn_offsets.add(req.producer_id, k, std::move(rec));
  answer_all(kafka::ErrorCode::none);
  if (!clustered_ || cluster_.replicas == nullptr) return post(r);
  // acks=all: answered once the batch is replicated (NOT_COORDINATOR if leadership is lost first).
  cluster_.replicas->wait_for_high_watermark(
      kOffsetsTopic, rt.shard->partition, rt.shard->log->last_appended(),
      [r = std::move(r), post = std::move(post)](std::int16_t error) mutable {
        if (error)
          for (auto& t : r.topics)
            for (auto& p : t.partitions) p.error_code = kafka::to_wire(kafka::ErrorCode::not_coordinator);
        post(r);
      });
}

void GroupsService::complete_in(Shard& s, std::int64_t producer_id, bool commit) {
  for (auto& rec : s.txn_offsets.take(producer_id))
    if (commit) s.coordinator->replay(rec.key, rec.value);
}

void GroupsService::complete_txn(std::int32_t partition, std::int64_t producer_id, bool commit) {
  std::lock_guard lock(mu_);
  auto it = shards_.find(partition);
  if (it == shards_.end()) return;  // not served here: a load reads the marker from the log
  Shard& s = *it->second;
  if (!s.loaded) {
    s.markers_while_loading.emplace_back(producer_id, commit);
    return;
  }
  complete_in(s, producer_id, commit);
}

bool GroupsService::handles(std::int16_t k) {
  using kafka::ApiKey;
  switch (static_cast<ApiKey>(k)) {
    case ApiKey::offset_commit:
    case ApiKey::offset_fetch:
    case ApiKey::join_group:
    case ApiKey::heartbeat:
    case ApiKey::leave_group:
    case ApiKey::sync_group:
    case ApiKey::describe_groups:
    case ApiKey::list_groups:
    case ApiKey::delete_groups:
    case ApiKey::offset_delete:
      return true;
    default:
      return false;
  }
}

}  // namespace nocopy::broker
