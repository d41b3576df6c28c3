#include "txn/txn_metadata.h"

#include <array>
#include <utility>

#include "kafka/reader.h"
#include "kafka/writer.h"

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
constexpr std::int16_t kKeyVersion = 0;
constexpr std::int16_t kValueVersion = 0;
constexpr std::int16_t kPendingKeyVersion = 1;
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
  kafka::Writer w;
  w.i16(kKeyVersion);
  w.string(transactional_id);
  return w.take_buffer();
}

std::vector<std::byte> encode_txn_value(const TxnMetadata& m) {
  kafka::Writer w;
  w.i16(kValueVersion);
  w.i64(m.producer_id);
  w.i16(m.producer_epoch);
  w.i32(m.timeout_ms);
  w.i8(static_cast<std::int8_t>(m.state));
  std::map<std::string, std::vector<std::int32_t>> by_topic;
  for (const auto& tp : m.partitions) by_topic[tp.topic].push_back(tp.partition);
  w.array_length(static_cast<std::int32_t>(by_topic.size()));
  for (const auto& [topic, parts] : by_topic) {
    w.string(topic);
    w.array_length(static_cast<std::int32_t>(parts.size()));
    for (std::int32_t p : parts) w.i32(p);
  }
  w.i64(m.last_update_ms);
  w.i64(m.start_ms);
  return w.take_buffer();
}

std::vector<std::byte> encode_pending_key(const std::string& transactional_id) {
  kafka::Writer w;
  w.i16(kPendingKeyVersion);
  w.string(transactional_id);
  return w.take_buffer();
}

std::vector<std::byte> encode_pending_value(const TxnMetadata& m) {
  kafka::Writer w;
  w.i16(0);
  w.i64(m.producer_id);
  w.i16(m.producer_epoch);
  std::set<std::string> groups = m.groups;
  for (const auto& [g, o] : m.pending_offsets) groups.insert(g);
  w.array_length(static_cast<std::int32_t>(groups.size()));
  for (const std::string& g : groups) {
    w.string(g);
    auto it = m.pending_offsets.find(g);
    const std::int32_t n = it == m.pending_offsets.end() ? 0 : static_cast<std::int32_t>(it->second.size());
    w.array_length(n);
    if (n == 0) continue;
    for (const auto& [tp, o] : it->second) {
      w.string(tp.topic);
      w.i32(tp.partition);
      w.i64(o.offset);
      w.i32(o.leader_epoch);
      w.string(o.metadata);
    }
  }
  return w.take_buffer();
}

std::optional<PendingRecord> decode_pending_value(std::span<const std::byte> value) {
  kafka::Reader r(value);
  if (r.i16() != 0) return std::nullopt;
  PendingRecord p;
  p.producer_id = r.i64();
  p.producer_epoch = r.i16();
  const std::int32_t groups = r.array_length();
  for (std::int32_t i = 0; i < groups && r.ok(); ++i) {
    std::string g(r.string());
    p.groups.insert(g);
    const std::int32_t n = r.array_length();
    for (std::int32_t k = 0; k < n && r.ok(); ++k) {
      TopicPartition tp;
      tp.topic = std::string(r.string());
      tp.partition = r.i32();
      PendingOffset o;
      o.offset = r.i64();
      o.leader_epoch = r.i32();
      o.metadata = std::string(r.string());
      p.offsets[g][tp] = std::move(o);
    }
  }
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return p;
}

std::optional<std::pair<std::int16_t, std::string>> decode_any_key(std::span<const std::byte> key) {
  kafka::Reader r(key);
  const std::int16_t v = r.i16();
  std::string id(r.string());
  if (!r.ok() || (v != kKeyVersion && v != kPendingKeyVersion)) return std::nullopt;
  return std::pair<std::int16_t, std::string>{v, std::move(id)};
}

std::optional<std::string> decode_txn_key(std::span<const std::byte> key) {
  kafka::Reader r(key);
  if (r.i16() != kKeyVersion) return std::nullopt;
  std::string id(r.string());
  if (!r.ok()) return std::nullopt;
  return id;
}

std::optional<TxnMetadata> decode_txn_value(std::span<const std::byte> value) {
  kafka::Reader r(value);
  if (r.i16() != kValueVersion) return std::nullopt;
  TxnMetadata m;
  m.producer_id = r.i64();
  m.producer_epoch = r.i16();
  m.timeout_ms = r.i32();
  const std::int8_t status = r.i8();
  if (status < 0 || status > static_cast<std::int8_t>(TxnState::prepare_epoch_fence)) return std::nullopt;
  m.state = static_cast<TxnState>(status);
  const std::int32_t topics = r.array_length();
  for (std::int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string topic(r.string());
    const std::int32_t parts = r.array_length();
    for (std::int32_t k = 0; k < parts && r.ok(); ++k) m.partitions.insert({topic, r.i32()});
  }
  m.last_update_ms = r.i64();
  m.start_ms = r.i64();
  if (!r.ok()) return std::nullopt;
  return m;
}

}  // namespace nocopy::txn
