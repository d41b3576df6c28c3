// One transactional id's state as the transaction coordinator keeps it, and
// its records in the internal `__transaction_state` log, in Kafka's format.
// The layouts are generated from src/kafka/schema (kafka/versioned_record.h:
// an int16 version, then the body at that version):
//
//   key   TransactionLogKey v0 (transaction_log_key.msg): the transactional id
//   value TransactionLogValue (transaction_log_value.msg): producer id and
//         epoch, timeout, status (Kafka's TransactionState id), partitions
//         per topic, last update and start times; v1 (flexible, what Kafka
//         4.x writes once transaction.version 2 is finalized) adds the
//         previous and next producer ids and the client's transaction
//         version as tagged fields. Both are read; v1 is written when the
//         broker finalizes transaction version 2, else v0 (which has no
//         place for those three fields).
//
// Key version 1 (never written by Kafka) held the pending transactional
// offsets of earlier nocopy versions; transactional offsets now live in
// __consumer_offsets (the group coordinator's), and a replay skips those
// records (decode_any_key tells them apart).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nocopy::txn {

enum class TxnState : std::int8_t {
  empty = 0,
  ongoing = 1,
  prepare_commit = 2,
  prepare_abort = 3,
  complete_commit = 4,
  complete_abort = 5,
  dead = 6,
  prepare_epoch_fence = 7,
};

// Kafka's names ("Empty", "Ongoing", "PrepareCommit", ...), as
// DescribeTransactions and ListTransactions report them.
std::string_view state_name(TxnState s);
std::optional<TxnState> state_from_name(std::string_view name);

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

struct TxnMetadata {
  std::string transactional_id;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t timeout_ms = 60000;
  TxnState state = TxnState::empty;
  std::set<TopicPartition> partitions;
  std::int64_t last_update_ms = -1;
  std::int64_t start_ms = -1;
  // Transaction version 2 (KIP-890), as Kafka keeps them:
  // the producer id before the last state change (after an epoch overflow
  // moved the id to a new producer id: the old one, so that a retried
  // EndTxn of the old id is recognised);
  std::int64_t prev_producer_id = -1;
  // the producer id the transaction moves to once it completes, allocated
  // when an EndTxn's epoch bump would pass the last usable epoch (-1: none);
  std::int64_t next_producer_id = -1;
  // the version of the client's transaction protocol: 2 when it was begun
  // by an implicit add (AddPartitionsToTxn v4+ from a broker) or ended by
  // EndTxn v5, else 0 (Kafka's TV_0 for the clients that add partitions
  // themselves).
  std::int16_t client_version = 0;
};

std::vector<std::byte> encode_txn_key(const std::string& transactional_id);
// The key's version (0: state, 1: an earlier version's pending offsets) and
// id; nullopt when undecodable.
std::optional<std::pair<std::int16_t, std::string>> decode_any_key(std::span<const std::byte> key);
// `version` 0 or 1 (v1: with the three transaction version 2 fields).
std::vector<std::byte> encode_txn_value(const TxnMetadata& m, std::int16_t version = 0);
// nullopt: undecodable or of a version this broker does not read.
std::optional<std::string> decode_txn_key(std::span<const std::byte> key);
std::optional<TxnMetadata> decode_txn_value(std::span<const std::byte> value);

}  // namespace nocopy::txn
