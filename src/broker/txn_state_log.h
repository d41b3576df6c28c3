// TxnStatePartitionLog: one partition of __transaction_state as a
// transaction coordinator's store (txn::TxnStateLog). Single node
// (`replicas` null): plain appends. Cluster mode: appended only by an
// unfenced leader in the coordinator's leader epoch whose ISR meets
// min.insync.replicas, stamped with that epoch, and stored only once the
// high watermark has passed the record (acks=all; it blocks the caller for
// up to kReplicationTimeout, so it is never called on a reactor thread).
#pragma once

#include <chrono>
#include <memory>

#include "broker/topic_registry.h"
#include "txn/txn_coordinator.h"

namespace nocopy::replication {
class ReplicaManager;
}

namespace nocopy::broker {

class Partition;

class TxnStatePartitionLog final : public txn::TxnStateLog {
 public:
  // How long a state change waits for the ISR before it counts as not stored.
  static constexpr auto kReplicationTimeout = std::chrono::milliseconds(5000);

  TxnStatePartitionLog(std::shared_ptr<Partition> p, replication::ReplicaManager* replicas,
                       const TopicRegistry& topics, std::int32_t leader_epoch)
      : p_(std::move(p)), replicas_(replicas), topics_(topics), leader_epoch_(leader_epoch) {}
  bool append(std::span<const std::byte> key, std::span<const std::byte> value) override;

 private:
  bool may_append() const;

  std::shared_ptr<Partition> p_;
  replication::ReplicaManager* replicas_;
  const TopicRegistry& topics_;
  const std::int32_t leader_epoch_;
};

}  // namespace nocopy::broker
