#include "broker/txn_state_log.h"

#include <spdlog/spdlog.h>

#include <future>

#include "broker/partition.h"
#include "broker/txn_service.h"
#include "log/record_batch.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

bool TxnStatePartitionLog::append(std::span<const std::byte> key, std::span<const std::byte> value) {
  std::string k(reinterpret_cast<const char*>(key.data()), key.size());
  std::string v(reinterpret_cast<const char*>(value.data()), value.size());
  auto batch = log::BatchBuilder().timestamp(TxnService::wall_ms()).add(std::move(k), std::move(v)).build();
  if (replicas_ != nullptr && !may_append()) return false;
  auto r = p_->append(batch, false, replicas_ != nullptr ? leader_epoch_ : -1);
  if (r.error) {
    spdlog::error("{}-{} append failed: error {}", kTxnStateTopic, p_->index(), r.error);
    return false;
  }
  if (replicas_ == nullptr) return true;
  replicas_->on_leader_append(kTxnStateTopic, p_->index());
  auto done = std::make_shared<std::promise<std::int16_t>>();
  auto replicated = done->get_future();
  replicas_->wait_for_high_watermark(kTxnStateTopic, p_->index(), r.last_offset,
                                     [done](std::int16_t e) { done->set_value(e); });
  if (replicated.wait_for(kReplicationTimeout) != std::future_status::ready) {
    spdlog::warn("{}-{}: offset {} not replicated to the ISR in {} ms", kTxnStateTopic, p_->index(), r.last_offset,
                 kReplicationTimeout.count());
    return false;
  }
  if (const std::int16_t e = replicated.get()) {
    spdlog::warn("{}-{}: offset {} not replicated: error {}", kTxnStateTopic, p_->index(), r.last_offset, e);
    return false;
  }
  return true;
}

bool TxnStatePartitionLog::may_append() const {
  const auto view = replicas_->view(kTxnStateTopic, p_->index());
  if (!view || view->role != replication::Role::leader || view->fenced || view->leader_epoch != leader_epoch_) {
    spdlog::warn("{}-{}: append refused: not the unfenced leader in epoch {}", kTxnStateTopic, p_->index(),
                 leader_epoch_);
    return false;
  }
  const auto cfg = topics_.config_of(kTxnStateTopic);
  const auto min_isr = static_cast<std::size_t>(std::max(cfg ? cfg->min_insync_replicas : 1, 1));
  if (view->isr_size < min_isr) {
    spdlog::warn("{}-{}: append refused: ISR of {} below min.insync.replicas {}", kTxnStateTopic, p_->index(),
                 view->isr_size, min_isr);
    return false;
  }
  return true;
}

}  // namespace nocopy::broker
