#include "broker/txn_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "broker/groups_service.h"
#include "broker/partition.h"
#include "broker/stored_batches.h"
#include "buf/chain.h"
#include "kafka/error_code.h"
#include "log/record_batch.h"

namespace nocopy::broker {

std::int64_t TxnService::wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TxnService::TxnService(const Config& cfg, TopicRegistry& topics, GroupsService* groups,
                       std::function<std::int64_t()> allocate_producer_id)
    : cfg_(cfg), topics_(topics), groups_(groups) {
  // Compacted, as Kafka's: each transactional id's latest state survives.
  const TopicConfig::Overrides state_config{{"cleanup.policy", "compact"}, {"segment.bytes", "104857600"}};
  if (!topics_.find(kTxnStateTopic)) {
    std::string msg;
    if (topics_.create(kTxnStateTopic, 1, state_config, false, &msg))
      throw std::runtime_error(std::string("cannot create ") + kTxnStateTopic + ": " + msg);
  }
  state_ = topics_.find(kTxnStateTopic, 0);
  if (!state_) throw std::runtime_error(std::string("cannot open ") + kTxnStateTopic);
  coordinator_ = std::make_unique<txn::TxnCoordinator>(
      txn::TxnCoordinatorConfig{}, static_cast<txn::TxnStateLog*>(this), static_cast<txn::TxnParticipants*>(this),
      std::move(allocate_producer_id));
  replay();
  ticker_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      coordinator_->tick(wall_ms());
    }
  });
}

TxnService::~TxnService() { stop(); }

void TxnService::stop() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
}

void TxnService::replay() {
  std::size_t replayed = 0, skipped = 0;
  for_each_stored_batch(*state_, [&](std::span<const std::byte> batch, std::int64_t base_offset) {
    auto recs = log::parse_records(batch);
    if (!recs) return;
    for (auto& rec : *recs) {
      if (!rec.key) continue;
      const auto key = std::as_bytes(std::span(rec.key->data(), rec.key->size()));
      const auto value = rec.value ? std::as_bytes(std::span(rec.value->data(), rec.value->size()))
                                   : std::span<const std::byte>{};
      if (coordinator_->replay(key, value)) {
        ++replayed;
      } else {
        ++skipped;
        spdlog::warn("transactions: skipping undecodable record at offset {} of {}", base_offset, kTxnStateTopic);
      }
    }
  });
  coordinator_->finish_replay(wall_ms());
  spdlog::info("transactions: replayed {} record(s) from {} ({} skipped), {} transactional id(s)", replayed,
               kTxnStateTopic, skipped, coordinator_->size());
}

bool TxnService::append(std::span<const std::byte> key, std::span<const std::byte> value) {
  std::string k(reinterpret_cast<const char*>(key.data()), key.size());
  std::string v(reinterpret_cast<const char*>(value.data()), value.size());
  auto batch = log::BatchBuilder().timestamp(wall_ms()).add(std::move(k), std::move(v)).build();
  auto r = state_->append(batch);
  if (r.error) spdlog::error("{} append failed: error {}", kTxnStateTopic, r.error);
  return r.error == 0;
}

bool TxnService::partition_exists(const std::string& topic, std::int32_t partition) {
  if (topic == kTxnStateTopic || topic == kOffsetsTopic) return false;
  return topics_.find(topic, partition) != nullptr;
}

std::int16_t TxnService::write_marker(const txn::TopicPartition& tp, std::int64_t producer_id, std::int16_t epoch,
                                      bool commit, std::int32_t coordinator_epoch) {
  auto p = topics_.find(tp.topic, tp.partition);
  if (!p) return kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition);
  return p->append_marker(producer_id, epoch, commit, coordinator_epoch);
}

bool TxnService::commit_offsets(const std::string& group,
                                const std::map<txn::TopicPartition, txn::PendingOffset>& offsets) {
  if (!groups_) return false;
  std::vector<GroupsService::TxnOffset> list;
  list.reserve(offsets.size());
  for (const auto& [tp, o] : offsets) list.push_back({tp.topic, tp.partition, o.offset, o.leader_epoch, o.metadata});
  return groups_->commit_txn_offsets(group, list, wall_ms());
}

}  // namespace nocopy::broker
