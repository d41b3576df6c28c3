// TxnCoordinator: Kafka's transaction coordinator for the transactional ids
// of one partition of __transaction_state (a single node has one, for every
// id; a cluster one per partition its broker leads).
//
// I/O-free: state changes are stored through TxnStateLog (the broker maps it
// onto the internal `__transaction_state` partition) *before* they take
// effect in memory, markers are written through TxnParticipants, and every
// call gets the wall clock in ms (`now`), so tests drive time. One mutex serializes every call; a call that ends a
// transaction writes its markers before it returns (page-cache appends),
// except EndTxn with TxnCoordinatorConfig::complete_after_answer.
//
// The state machine (Kafka's TransactionState):
//   Empty --AddPartitions/AddOffsets--> Ongoing --EndTxn--> PrepareCommit|PrepareAbort
//   Prepare* --markers written--> CompleteCommit|CompleteAbort
//   Complete*/Empty --AddPartitions--> Ongoing; InitProducerId --> Empty (epoch + 1)
// Transaction version 2 (KIP-890; EndTxn v5, partitions added by brokers
// with AddPartitionsToTxn v4+): every EndTxn bumps the producer epoch when
// it prepares the outcome; the markers carry the bumped epoch (fencing the
// transaction's own batches against a late retry) and the answer names the
// producer id and epoch to use next. An epoch bump that would reach 32767
// allocates the next producer id, kept with the transaction
// (next_producer_id) and taken with epoch 0 when it completes. A retried
// EndTxn with the epoch before the bump (or, after an overflow, the previous
// producer id at 32766) is answered as Kafka does: NONE with the current id
// and epoch for the outcome already reached, INVALID_TXN_STATE for the
// other. Under version 2 an abort with no transaction open (Empty,
// CompleteCommit, CompleteAbort at the current epoch) is an empty abort that
// bumps the epoch too. Both versions run side by side: the request's
// version decides (EndTxn v0-v4 keep the epoch).
//
// A transaction that stays Ongoing longer than its timeout is aborted by
// tick(): the epoch is bumped first, so the producer that left it is fenced.
// InitProducerId of an id with an Ongoing transaction aborts it the same way
// and hands the bumped epoch to the new producer. An epoch that would pass
// 32766 gets a new producer id at epoch 0.
//
// Errors (Kafka's): unknown id or a producer id that does not own it
// INVALID_PRODUCER_ID_MAPPING (49); another epoch PRODUCER_FENCED (90)
// (INVALID_PRODUCER_EPOCH (47) for request versions before PRODUCER_FENCED
// existed); a transaction being completed CONCURRENT_TRANSACTIONS (51);
// EndTxn with nothing open, or the other outcome of a finished one,
// INVALID_TXN_STATE (48); a timeout above the maximum INVALID_TRANSACTION_TIMEOUT
// (50); the state log refusing a write COORDINATOR_NOT_AVAILABLE (15), with
// nothing changed.
//
// Transactional offsets, as in Kafka: AddOffsetsToTxn adds the group's
// __consumer_offsets partition (TxnParticipants::offsets_partition) to the
// transaction; the client's TxnOffsetCommit goes to the group coordinator,
// which keeps the offsets pending in that partition until the marker this
// coordinator writes there like in any other partition of the transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kafka/messages.h"
#include "txn/txn_metadata.h"

namespace nocopy::txn {

// What a broker's add of a partition to a transaction version 2 producer's
// transaction (a Produce v12+ batch, a TxnOffsetCommit v5) makes of the
// coordinator's per-partition answer, as Kafka's brokers map it: NONE; a
// stale epoch INVALID_PRODUCER_EPOCH; a coordinator that could not decide
// now (CONCURRENT_TRANSACTIONS while markers are written, not the
// coordinator, loading, unavailable) NOT_ENOUGH_REPLICAS, which producers
// retry; anything else INVALID_TXN_STATE (TRANSACTION_ABORTABLE to versions
// that know it).
kafka::ErrorCode add_verdict(kafka::ErrorCode coordinator_error);

class TxnStateLog {
 public:
  virtual ~TxnStateLog() = default;
  // Stores one record; false when it could not be stored.
  virtual bool append(std::span<const std::byte> key, std::span<const std::byte> value) = 0;
};

class TxnParticipants {
 public:
  virtual ~TxnParticipants() = default;
  virtual bool partition_exists(const std::string& topic, std::int32_t partition) = 0;
  // The same for a broker's add (AddPartitionsToTxn v4+, transaction version
  // 2), which may name a group's __consumer_offsets partition too (the group
  // coordinator's add for TxnOffsetCommit v5), unlike a client.
  virtual bool partition_exists_for_broker(const std::string& topic, std::int32_t partition) {
    return partition_exists(topic, partition);
  }
  // Appends a COMMIT/ABORT marker; returns a Kafka error code (0 = written).
  // A partition that no longer exists answers UNKNOWN_TOPIC_OR_PARTITION.
  virtual std::int16_t write_marker(const TopicPartition& tp, std::int64_t producer_id, std::int16_t epoch,
                                    bool commit, std::int32_t coordinator_epoch) = 0;
  // The __consumer_offsets partition that holds `group`'s offsets; nullopt
  // when it cannot be named yet (that topic does not exist).
  virtual std::optional<TopicPartition> offsets_partition(const std::string& group) = 0;
};

struct TxnCoordinatorConfig {
  std::int32_t max_timeout_ms = 900000;  // transaction.max.timeout.ms
  // Written into every marker: a single node's one coordinator 0, a
  // cluster's the leader epoch of its __transaction_state partition.
  std::int32_t coordinator_epoch = 0;
  // EndTxn answers once PrepareCommit / PrepareAbort is stored, as Kafka's
  // coordinator does; the caller then completes the transaction (markers)
  // with complete() after sending the answer. Until it is complete, calls
  // for that id get CONCURRENT_TRANSACTIONS. Off: EndTxn writes the markers
  // before it answers (a single node, whose markers are page-cache appends).
  bool complete_after_answer = false;
  // The broker's finalized transaction.version: 2 writes state records as
  // TransactionLogValue v1 (with the transaction version 2 fields), below
  // that v0, as Kafka does.
  std::int16_t transaction_version = 0;
};

class TxnCoordinator {
 public:
  // `allocate_producer_id` hands out a fresh id (may throw: the request is
  // answered COORDINATOR_NOT_AVAILABLE). The log and participants must
  // outlive the coordinator.
  TxnCoordinator(TxnCoordinatorConfig cfg, TxnStateLog* log, TxnParticipants* participants,
                 std::function<std::int64_t()> allocate_producer_id);

  kafka::InitProducerIdResponse init_producer_id(const kafka::InitProducerIdRequest& req, std::int16_t version,
                                                 std::int64_t now);
  // v0-v3: a client adds partitions (transaction version 0/1). `version` 4+
  // (a broker's add for a transaction version 2 producer: its leader or its
  // group coordinator, with the v4+ request's one transaction in the v3
  // fields) marks the transaction as version 2.
  kafka::AddPartitionsToTxnResponse add_partitions(const kafka::AddPartitionsToTxnRequest& req, std::int16_t version,
                                                   std::int64_t now);
  kafka::AddOffsetsToTxnResponse add_offsets(const kafka::AddOffsetsToTxnRequest& req, std::int16_t version,
                                             std::int64_t now);
  // v5: transaction version 2 (see above); its answer carries the producer
  // id and epoch to use next (-1/-1 with an error).
  kafka::EndTxnResponse end_txn(const kafka::EndTxnRequest& req, std::int16_t version, std::int64_t now);
  // With complete_after_answer: writes the markers of `transactional_id`'s
  // transaction if it is PrepareCommit / PrepareAbort (failed markers leave
  // it so, for tick()). Nothing to do otherwise.
  void complete(const std::string& transactional_id, std::int64_t now);
  // Produce of a transactional batch of (producer_id, epoch) to
  // topic-partition: its transaction must be Ongoing with that partition
  // added (KIP-890's verification; here the leader is the coordinator), so
  // a batch sent outside a transaction cannot open one in the partition that
  // no marker would ever end. An older epoch INVALID_PRODUCER_EPOCH (47);
  // otherwise INVALID_TXN_STATE (48). One hash lookup by producer id.
  kafka::ErrorCode verify_partition(std::int64_t producer_id, std::int16_t epoch, const std::string& topic,
                                    std::int32_t partition) const;
  // Whether `producer_id` is the current producer of an id coordinated here.
  bool knows_producer(std::int64_t producer_id) const;
  kafka::DescribeTransactionsResponse describe(const kafka::DescribeTransactionsRequest& req) const;
  kafka::ListTransactionsResponse list(const kafka::ListTransactionsRequest& req, std::int64_t now) const;

  // Aborts transactions open longer than their timeout; retries the markers
  // of transactions whose completion failed. Returns how many it aborted.
  std::size_t tick(std::int64_t now);

  // Start-up: records oldest first (an empty value forgets the id), then
  // finish_replay() completes the transactions a crash left in
  // PrepareCommit/PrepareAbort (their markers are written again).
  bool replay(std::span<const std::byte> key, std::span<const std::byte> value);
  void finish_replay(std::int64_t now);

  std::optional<TxnMetadata> find(const std::string& transactional_id) const;
  std::size_t size() const;

 private:
  // The id's metadata when (pid, epoch) is its current producer, else the
  // error (see check_producer); `fenced_code`: the request version knows
  // PRODUCER_FENCED.
  struct Owned {
    TxnMetadata* m = nullptr;
    kafka::ErrorCode error = kafka::ErrorCode::none;
  };
  Owned owned(const std::string& transactional_id, std::int64_t pid, std::int16_t epoch, bool fenced_code);
  kafka::ErrorCode check_producer(const TxnMetadata* m, std::int64_t pid, std::int16_t epoch,
                                  bool fenced_code) const;
  // InitProducerId's two cases: an id seen for the first time, and a new
  // producer (epoch) for a known one.
  kafka::ErrorCode create_id(const std::string& id, std::int32_t timeout_ms, std::int64_t now);
  kafka::ErrorCode reinit(TxnMetadata& m, const kafka::InitProducerIdRequest& req, std::int16_t version,
                          std::int64_t now);
  // m = next, keeping by_producer_ in step when the producer id changes.
  void assign(TxnMetadata& m, TxnMetadata next);
  bool persist(const TxnMetadata& m);
  // Prepare -> markers -> Complete. `m` must be Ongoing (or
  // Prepare*, to retry). Error COORDINATOR_NOT_AVAILABLE when the state
  // could not be stored; markers that fail leave it Prepare* for tick().
  kafka::ErrorCode end_locked(TxnMetadata& m, bool commit, std::int64_t now);
  // Ongoing -> Prepare*, stored (COORDINATOR_NOT_AVAILABLE when it is not).
  // `bump` (transaction version 2): with the epoch bumped, the next producer
  // id allocated when the bump reaches the last epoch; any state may be
  // prepared so (an empty abort has no partitions).
  kafka::ErrorCode prepare_locked(TxnMetadata& m, bool commit, std::int64_t now, bool bump = false);
  // EndTxn v5.
  kafka::ErrorCode end_txn_v2(const kafka::EndTxnRequest& req, std::int64_t now, kafka::EndTxnResponse& r);
  // Prepare (bumped) and, unless complete_after_answer, complete.
  kafka::ErrorCode end_v2_locked(TxnMetadata& m, bool commit, std::int64_t now);
  bool bump_epoch(TxnMetadata& m);  // false: no producer id available
  // The epoch that fences a producer's open transaction before its abort:
  // the next one, 32767 included (no client gets it, markers may carry it,
  // as in Kafka), so the markers close it under its own producer id.
  static void fence_epoch(TxnMetadata& m);

  TxnCoordinatorConfig cfg_;
  TxnStateLog* log_;
  TxnParticipants* participants_;
  std::function<std::int64_t()> allocate_;
  mutable std::mutex mu_;
  std::map<std::string, TxnMetadata> txns_;
  // producer id -> its transactional id; an entry for every value of txns_
  // (guarded by mu_).
  std::unordered_map<std::int64_t, std::string> by_producer_;
  // What verify_partition() reads: each id's stored state, published by
  // persist() once a change is stored (and by replay), under its own mutex,
  // which is never held across I/O. So a Produce on a reactor thread never
  // waits behind a state change being replicated or a marker being sent
  // (mu_ is held across both). One hash lookup by producer id.
  struct Verifiable {
    std::int16_t epoch = -1;
    bool ongoing = false;
    std::set<TopicPartition> partitions;
  };
  void publish(const TxnMetadata& m);
  void unpublish(const std::string& transactional_id);
  mutable std::mutex verify_mu_;
  std::unordered_map<std::int64_t, Verifiable> verifiable_;          // by producer id
  std::unordered_map<std::string, std::int64_t> verifiable_owner_;  // transactional id -> producer id
};

}  // namespace nocopy::txn
