#include "broker/group_records.h"

#include "kafka/consumer_offsets_records.h"
#include "kafka/reader.h"
#include "kafka/versioned_record.h"

namespace nocopy::broker::group_records {

std::optional<std::int16_t> key_version(std::span<const std::byte> key) {
  kafka::Reader peek(key);
  const std::int16_t v = peek.i16();
  if (!peek.ok()) return std::nullopt;
  return v;
}

// Each key and value: an int16 version, then the message body at that
// version (src/kafka/schema/offset_commit_*.msg, group_metadata_*.msg).
using kafka::decode_versioned;
using kafka::encode_versioned;

std::vector<std::byte> encode_offset_key(const GroupOffsetKey& k) {
  return encode_versioned(kOffsetKeyVersion, kafka::OffsetCommitKey{k.group, k.topic, k.partition});
}

std::vector<std::byte> encode_offset_value(const GroupOffsetValue& v) {
  kafka::OffsetCommitValue m;
  m.offset = v.offset;
  m.leader_epoch = v.leader_epoch;
  m.metadata = v.metadata;
  m.commit_timestamp = v.commit_timestamp_ms;
  return encode_versioned(kOffsetValueVersion, m);
}

std::optional<GroupOffsetKey> decode_offset_key(std::span<const std::byte> key) {
  auto m = decode_versioned<kafka::OffsetCommitKey>(key, kafka::OffsetCommitKey::kMaxVersion, false);
  if (!m) return std::nullopt;
  return GroupOffsetKey{std::move(m->group), std::move(m->topic), m->partition};
}

std::optional<GroupOffsetValue> decode_offset_value(std::span<const std::byte> value) {
  auto m = decode_versioned<kafka::OffsetCommitValue>(value, kafka::OffsetCommitValue::kMaxVersion, false);
  if (!m) return std::nullopt;
  return GroupOffsetValue{m->offset, m->leader_epoch, std::move(m->metadata), m->commit_timestamp};
}

std::vector<std::byte> encode_group_key(const std::string& group) {
  return encode_versioned(kGroupKeyVersion, kafka::GroupMetadataKey{group});
}

std::vector<std::byte> encode_group_value(const GroupRecord& v) {
  kafka::GroupMetadataValue m;
  m.protocol_type = v.protocol_type;
  m.generation = v.generation;
  m.protocol = v.protocol;
  m.leader = v.leader;
  m.current_state_timestamp = v.state_timestamp_ms;
  m.members.reserve(v.members.size());
  for (const auto& x : v.members) {
    m.members.push_back({x.member_id, x.group_instance_id, x.client_id, x.client_host, x.rebalance_timeout_ms,
                         x.session_timeout_ms, x.subscription, x.assignment});
  }
  return encode_versioned(kGroupValueVersion, m);
}

std::optional<std::string> decode_group_key(std::span<const std::byte> key) {
  auto m = decode_versioned<kafka::GroupMetadataKey>(key, kGroupKeyVersion, true);
  if (!m || m->group.empty()) return std::nullopt;
  return std::move(m->group);
}

std::optional<GroupRecord> decode_group_value(std::span<const std::byte> value) {
  std::int16_t version = 0;
  auto rec = decode_versioned<kafka::GroupMetadataValue>(value, kafka::GroupMetadataValue::kMaxVersion, false, &version);
  if (!rec) return std::nullopt;
  GroupRecord g{std::move(rec->protocol_type), rec->generation, std::move(rec->protocol), std::move(rec->leader),
                rec->current_state_timestamp, {}};
  g.members.reserve(rec->members.size());
  for (auto& x : rec->members) {
    // v0 had no rebalance timeout: the session timeout stood for both.
    const std::int32_t rebalance = version == 0 ? x.session_timeout : x.rebalance_timeout;
    g.members.push_back({std::move(x.member_id), std::move(x.group_instance_id), std::move(x.client_id),
                         std::move(x.client_host), rebalance, x.session_timeout, std::move(x.subscription),
                         std::move(x.assignment)});
  }
  // Consistency: what the coordinator relies on for a restored group.
  if (g.generation < 0) return std::nullopt;
  if (!g.members.empty()) {
    if (g.protocol_type.empty() || !g.protocol || g.protocol->empty() || !g.leader) return std::nullopt;
    bool leader_found = false;
    for (std::size_t i = 0; i < g.members.size(); ++i) {
      const auto& m = g.members[i];
      if (m.member_id.empty() || m.session_timeout_ms <= 0 || m.rebalance_timeout_ms < 0) return std::nullopt;
      for (std::size_t j = 0; j < i; ++j) {
        if (g.members[j].member_id == m.member_id) return std::nullopt;
      }
      leader_found = leader_found || m.member_id == *g.leader;
    }
    if (!leader_found) return std::nullopt;
  }
  return g;
}

}  // namespace nocopy::broker::group_records
