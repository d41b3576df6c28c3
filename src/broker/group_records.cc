#include "broker/group_records.h"

#include "kafka/reader.h"
#include "kafka/writer.h"

namespace nocopy::broker::group_records {

std::optional<std::int16_t> key_version(std::span<const std::byte> key) {
  kafka::Reader peek(key);
  const std::int16_t v = peek.i16();
  if (!peek.ok()) return std::nullopt;
  return v;
}

// Offset records, after Kafka's __consumer_offsets schema:
//   key   = int16 version (1) | string group | string topic | int32 partition
//   value = int16 version (3) | int64 offset | int32 leader_epoch
//           | string metadata | int64 commit_timestamp_ms
std::vector<std::byte> encode_offset_key(const GroupOffsetKey& k) {
  kafka::Writer w;
  w.i16(kOffsetKeyVersion);
  w.string(k.group);
  w.string(k.topic);
  w.i32(k.partition);
  return w.take_buffer();
}

std::vector<std::byte> encode_offset_value(const GroupOffsetValue& v) {
  kafka::Writer w;
  w.i16(kOffsetValueVersion);
  w.i64(v.offset);
  w.i32(v.leader_epoch);
  w.string(v.metadata);
  w.i64(v.commit_timestamp_ms);
  return w.take_buffer();
}

std::optional<GroupOffsetKey> decode_offset_key(std::span<const std::byte> key) {
  kafka::Reader r(key);
  if (r.i16() != kOffsetKeyVersion) return std::nullopt;
  GroupOffsetKey k;
  k.group = r.string();
  k.topic = r.string();
  k.partition = r.i32();
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return k;
}

std::optional<GroupOffsetValue> decode_offset_value(
    std::span<const std::byte> value) {
  kafka::Reader r(value);
  if (r.i16() != kOffsetValueVersion) return std::nullopt;
  GroupOffsetValue v;
  v.offset = r.i64();
  v.leader_epoch = r.i32();
  v.metadata = r.string();
  v.commit_timestamp_ms = r.i64();
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return v;
}

// Group records, after Kafka's GroupMetadataKey / GroupMetadataValue:
//   key   = int16 version (2) | string group
//   value = int16 version (0..3)
//           | string protocol_type | int32 generation
//           | nullable string protocol | nullable string leader
//           | int64 current_state_timestamp_ms                  (v2+)
//           | int32 member count, then per member:
//               string member_id
//               | nullable string group_instance_id             (v3+)
//               | string client_id | string client_host
//               | int32 rebalance_timeout_ms                    (v1+)
//               | int32 session_timeout_ms
//               | bytes subscription | bytes assignment
//   A null (here: empty) value is a tombstone. We write value v3.
std::vector<std::byte> encode_group_key(const std::string& group) {
  kafka::Writer w;
  w.i16(kGroupKeyVersion);
  w.string(group);
  return w.take_buffer();
}

std::vector<std::byte> encode_group_value(const GroupRecord& v) {
  kafka::Writer w;
  w.i16(kGroupValueVersion);
  w.string(v.protocol_type);
  w.i32(v.generation);
  w.nullable_string(v.protocol);
  w.nullable_string(v.leader);
  w.i64(v.state_timestamp_ms);
  w.array_length(static_cast<std::int32_t>(v.members.size()));
  for (const auto& m : v.members) {
    w.string(m.member_id);
    w.nullable_string(m.group_instance_id);
    w.string(m.client_id);
    w.string(m.client_host);
    w.i32(m.rebalance_timeout_ms);
    w.i32(m.session_timeout_ms);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return w.take_buffer();
}

std::optional<std::string> decode_group_key(std::span<const std::byte> key) {
  kafka::Reader r(key);
  if (r.i16() != kGroupKeyVersion) return std::nullopt;
  std::string group(r.string());
  // Trailing bytes are tolerated, as Kafka's key readers do (later key
  // versions may append fields).
  if (!r.ok() || group.empty()) return std::nullopt;
  return group;
}

std::optional<GroupRecord> decode_group_value(std::span<const std::byte> value) {
  kafka::Reader r(value);
  const std::int16_t version = r.i16();
  if (!r.ok() || version < 0 || version > kGroupValueVersion) return std::nullopt;
  auto opt = [](std::optional<std::string_view> s) -> std::optional<std::string> {
    if (!s) return std::nullopt;
    return std::string(*s);
  };
  GroupRecord g;
  g.protocol_type = r.string();
  g.generation = r.i32();
  g.protocol = opt(r.nullable_string());
  g.leader = opt(r.nullable_string());
  if (version >= 2) g.state_timestamp_ms = r.i64();
  const std::int32_t n = r.array_length();
  if (!r.ok() || n < 0) return std::nullopt;
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    GroupRecordMember m;
    m.member_id = r.string();
    if (version >= 3) m.group_instance_id = opt(r.nullable_string());
    m.client_id = r.string();
    m.client_host = r.string();
    if (version >= 1) m.rebalance_timeout_ms = r.i32();
    m.session_timeout_ms = r.i32();
    if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
    auto sub = r.bytes();
    m.subscription.assign(sub.begin(), sub.end());
    auto asg = r.bytes();
    m.assignment.assign(asg.begin(), asg.end());
    g.members.push_back(std::move(m));
  }
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
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
