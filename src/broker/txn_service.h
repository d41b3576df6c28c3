// TxnService: wires the I/O-free txn::TxnCoordinator into the broker.
//
// - State log: the internal, compacted partition `__transaction_state-0`
//   (one uncompressed single-record batch per state change, Kafka's
//   TransactionLogKey/Value format, see txn/txn_metadata.h), replayed at
//   start; the transactions a crash left being completed are completed then.
// - Participants: markers go to the partitions through
//   Partition::append_marker; a committed transaction's offsets go to the
//   group coordinator through GroupsService::commit_txn_offsets.
// - A ticker thread calls tick(now) every 100 ms (transaction timeouts).
// Thread-safety: coordinator() may be used from any reactor thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "broker/config.h"
#include "broker/topic_registry.h"
#include "txn/txn_coordinator.h"

namespace nocopy::broker {

class GroupsService;
class Partition;

inline constexpr const char* kTxnStateTopic = "__transaction_state";

class TxnService final : private txn::TxnStateLog, private txn::TxnParticipants {
 public:
  // Creates/opens __transaction_state and replays it. `groups` may be null
  // (transactional offsets are then refused at commit with an error log).
  TxnService(const Config& cfg, TopicRegistry& topics, GroupsService* groups,
             std::function<std::int64_t()> allocate_producer_id);
  ~TxnService();
  void stop();

  txn::TxnCoordinator& coordinator() { return *coordinator_; }
  static std::int64_t wall_ms();

 private:
  bool append(std::span<const std::byte> key, std::span<const std::byte> value) override;
  bool partition_exists(const std::string& topic, std::int32_t partition) override;
  std::int16_t write_marker(const txn::TopicPartition& tp, std::int64_t producer_id, std::int16_t epoch, bool commit,
                            std::int32_t coordinator_epoch) override;
  bool commit_offsets(const std::string& group,
                      const std::map<txn::TopicPartition, txn::PendingOffset>& offsets) override;
  void replay();

  const Config& cfg_;
  TopicRegistry& topics_;
  GroupsService* groups_;
  std::shared_ptr<Partition> state_;
  std::unique_ptr<txn::TxnCoordinator> coordinator_;
  std::thread ticker_;
  std::atomic<bool> stop_{false};
};

}  // namespace nocopy::broker
