// The records the group coordinator stores in `__consumer_offsets`, after
// Kafka's own schemas, and their codecs. Each key and value is an int16
// version followed by a message described in src/kafka/schema
// (offset_commit_key/value.msg, group_metadata_key/value.msg) and generated
// into kafka/consumer_offsets_records.h.
//
// - Offset records: key OffsetCommitKey v1 (group, topic, partition), value
//   OffsetCommitValue (offset, leader epoch, metadata, commit time). We
//   write value v3 and read v0-v4.
// - Group records: key GroupMetadataKey v2 (group), value GroupMetadataValue
//   (protocol type, generation, protocol, leader, members with their
//   subscriptions and assignments). We write value v3 and read v0-v4.
// - A null (here: empty) value is a tombstone.
//
// Pure functions, no state. Decoders return nullopt for unknown versions,
// truncated input or trailing bytes (group keys tolerate trailing bytes,
// as Kafka's key readers do).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kafka/serde.h"

namespace nocopy::broker {

// Where the coordinator's records are stored (the broker maps it onto the
// internal `__consumer_offsets` partition log).
class OffsetLog {
 public:
  virtual ~OffsetLog() = default;
  // Store one record. Returns false when it could not be stored; the commit
  // is then answered with an error and not applied in memory.
  virtual bool append(std::span<const std::byte> key, std::span<const std::byte> value) = 0;
  // Store a tombstone (null value) for every key, all or nothing. Returns
  // false when they could not be stored; nothing is then deleted in memory.
  // The default stores them one by one as empty values, which is not
  // atomic; the broker's log overrides it with one batch of null-valued
  // records (replayed with replay_tombstone()).
  virtual bool append_tombstones(std::span<const std::vector<std::byte>> keys) {
    for (const auto& k : keys)
      if (!append(k, {})) return false;
    return true;
  }
};

struct GroupOffsetKey {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const GroupOffsetKey&) const = default;
};

struct GroupOffsetValue {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  std::int64_t commit_timestamp_ms = -1;
};

// Group membership records (Kafka's GroupMetadataKey v2 / Value v0-v3).
struct GroupRecordMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t rebalance_timeout_ms = 0;
  std::int32_t session_timeout_ms = 0;
  kafka::ByteVec subscription;  // the member's metadata for `protocol`
  kafka::ByteVec assignment;
};

struct GroupRecord {
  std::string protocol_type;
  std::int32_t generation = 0;
  std::optional<std::string> protocol;  // null while the group is Empty
  std::optional<std::string> leader;
  std::int64_t state_timestamp_ms = -1;
  std::vector<GroupRecordMember> members;
};

namespace group_records {

inline constexpr std::int16_t kOffsetKeyVersion = 1;
inline constexpr std::int16_t kOffsetValueVersion = 3;
inline constexpr std::int16_t kGroupKeyVersion = 2;
inline constexpr std::int16_t kGroupValueVersion = 3;

// The version a stored key starts with; nullopt when it is shorter than that.
std::optional<std::int16_t> key_version(std::span<const std::byte> key);

std::vector<std::byte> encode_offset_key(const GroupOffsetKey& k);
std::vector<std::byte> encode_offset_value(const GroupOffsetValue& v);
std::optional<GroupOffsetKey> decode_offset_key(std::span<const std::byte> key);
std::optional<GroupOffsetValue> decode_offset_value(std::span<const std::byte> value);

std::vector<std::byte> encode_group_key(const std::string& group);
std::vector<std::byte> encode_group_value(const GroupRecord& v);
std::optional<std::string> decode_group_key(std::span<const std::byte> key);
// Accepts value versions 0-3; nullopt for other versions, truncated or
// trailing bytes, or an inconsistent group (a leader that is not a member,
// duplicate member ids, members without a protocol, bad timeouts).
std::optional<GroupRecord> decode_group_value(std::span<const std::byte> value);

}  // namespace group_records
}  // namespace nocopy::broker
