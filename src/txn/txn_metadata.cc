#include "txn/txn_metadata.h"

#include <array>
#include <utility>

#include "kafka/transaction_log_records.h"
#include "kafka/versioned_record.h"

namespace nocopy::txn {

namespace {
constexpr std::array<std::pair<TxnState, std::string_view>, 8> kNames{{
    {TxnState::empty, "Empty"},
    {TxnState::ongoing, "Ongoing"},
    {TxnState::prepare_commit, "PrepareCommit"},
    {TxnState::prepare_abort, "PrepareAbort"},
    {TxnState::complete_commit, "CompleteCommit"},
    {TxnState::complete_abort, "CompleteAbort"},
    {TxnState::dead, "Dead"},
    {TxnState::prepare_epoch_fence, "PrepareEpochFence"},
}};
// Written: Kafka's key v0; values v0 or v1 as the caller asks.
constexpr std::int16_t kKeyVersion = 0;
}  // namespace

std::string_view state_name(TxnState s) {
  for (const auto& [st, name] : kNames)
    if (st == s) return name;
  return "Unknown";
}

std::optional<TxnState> state_from_name(std::string_view name) {
  for (const auto& [st, n] : kNames)
    if (n == name) return st;
  return std::nullopt;
}

std::vector<std::byte> encode_txn_key(const std::string& transactional_id) {
  return kafka::encode_versioned(kKeyVersion, kafka::TransactionLogKey{transactional_id});
}

std::vector<std::byte> encode_txn_value(const TxnMetadata& m, std::int16_t version) {
  kafka::TransactionLogValue v;
  v.producer_id = m.producer_id;
  v.producer_epoch = m.producer_epoch;
  v.transaction_timeout_ms = m.timeout_ms;
  v.transaction_status = static_cast<std::int8_t>(m.state);
  v.transaction_partitions.emplace();
  for (const auto& tp : m.partitions) {  // sorted: one entry per topic
    if (v.transaction_partitions->empty() || v.transaction_partitions->back().topic != tp.topic)
      v.transaction_partitions->push_back({tp.topic, {}});
    v.transaction_partitions->back().partition_ids.push_back(tp.partition);
  }
  v.transaction_last_update_timestamp_ms = m.last_update_ms;
  v.transaction_start_timestamp_ms = m.start_ms;
  v.previous_producer_id = m.prev_producer_id;
  v.next_producer_id = m.next_producer_id;
  v.client_transaction_version = m.client_version;
  return kafka::encode_versioned(version >= 1 ? std::int16_t{1} : std::int16_t{0}, v);
}

std::optional<std::pair<std::int16_t, std::string>> decode_any_key(std::span<const std::byte> key) {
  std::int16_t version = -1;
  auto k = kafka::decode_versioned<kafka::TransactionLogKey>(key, kafka::TransactionLogKey::kMaxVersion, false, &version);
  if (!k) return std::nullopt;
  return std::pair<std::int16_t, std::string>{version, std::move(k->transactional_id)};
}

std::optional<std::string> decode_txn_key(std::span<const std::byte> key) {
  auto k = kafka::decode_versioned<kafka::TransactionLogKey>(key, kKeyVersion);
  if (!k) return std::nullopt;
  return std::move(k->transactional_id);
}

std::optional<TxnMetadata> decode_txn_value(std::span<const std::byte> value) {
  auto v = kafka::decode_versioned<kafka::TransactionLogValue>(value);
  if (!v) return std::nullopt;
  if (v->transaction_status < 0 || v->transaction_status > static_cast<std::int8_t>(TxnState::prepare_epoch_fence))
    return std::nullopt;
  TxnMetadata m;
  m.producer_id = v->producer_id;
  m.producer_epoch = v->producer_epoch;
  m.timeout_ms = v->transaction_timeout_ms;
  m.state = static_cast<TxnState>(v->transaction_status);
  if (v->transaction_partitions) {
    for (const auto& t : *v->transaction_partitions)
      for (std::int32_t p : t.partition_ids) m.partitions.insert({t.topic, p});
  }
  m.last_update_ms = v->transaction_last_update_timestamp_ms;
  m.start_ms = v->transaction_start_timestamp_ms;
  m.prev_producer_id = v->previous_producer_id;
  m.next_producer_id = v->next_producer_id;
  m.client_version = v->client_transaction_version;
  return m;
}

}  // namespace nocopy::txn
