// One transactional id's state as the transaction coordinator keeps it, and
// its records in the internal `__transaction_state` log, in Kafka's format.
// The layouts are generated from src/kafka/schema (kafka/versioned_record.h:
// an int16 version, then the body at that version):
//
//   key   TransactionLogKey v0 (transaction_log_key.msg): the transactional id
//   value TransactionLogValue v0 (transaction_log_value.msg): producer id and
//         epoch, timeout, status (Kafka's TransactionState id), partitions
//         per topic, last update and start times. v1 (flexible, Kafka 4.x
//         with transaction version 2) is read too; its tagged fields
//         (previous/next producer id, client transaction version) are not
//         kept.
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
};

std::vector<std::byte> encode_txn_key(const std::string& transactional_id);
// The key's version (0: state, 1: an earlier version's pending offsets) and
// id; nullopt when undecodable.
std::optional<std::pair<std::int16_t, std::string>> decode_any_key(std::span<const std::byte> key);
std::vector<std::byte> encode_txn_value(const TxnMetadata& m);
// nullopt: undecodable or of a version this broker does not read.
std::optional<std::string> decode_txn_key(std::span<const std::byte> key);
std::optional<TxnMetadata> decode_txn_value(std::span<const std::byte> value);

}  // namespace nocopy::txn
