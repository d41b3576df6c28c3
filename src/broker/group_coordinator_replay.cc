// GroupCoordinator: rebuilding committed offsets and group membership from
// the stored `__consumer_offsets` records after a restart.
#include <spdlog/spdlog.h>

#include "broker/group_coordinator.h"

namespace nocopy::broker {

bool GroupCoordinator::replay_group(std::span<const std::byte> key, std::span<const std::byte> value) {
  auto id = decode_group_key(key);
  if (!id) return false;
  ClassicGroup* g = find_group(*id);
  if (value.empty()) {
    // Tombstone: the group's membership is gone (its offsets are separate
    // records and stay).
    if (g != nullptr) g->forget_members();
    return true;
  }
  auto rec = decode_group_value(value);
  if (!rec) {
    const auto version = group_records::key_version(value);  // a value starts with its version too
    if (version && (*version < 0 || *version > kGroupValueVersion)) {
      spdlog::warn("groups: skipping group record of '{}' with unknown value version {}", *id, *version);
      return true;
    }
    return false;
  }
  find_or_create_group(*id).restore(std::move(*rec));
  return true;
}

bool GroupCoordinator::replay_tombstone(std::span<const std::byte> key) {
  const auto key_version = group_records::key_version(key);
  if (!key_version) return false;
  if (*key_version == kGroupKeyVersion) {
    auto id = decode_group_key(key);
    if (!id) return false;
    // A group that still has committed offsets stays, Empty, to hold them
    // (Kafka does the same); one without is gone.
    if (offsets_.has_group(*id)) return replay_group(key, {});
    groups_.erase(*id);
    return true;
  }
  if (*key_version != group_records::kOffsetKeyVersion) {
    spdlog::warn("groups: skipping __consumer_offsets tombstone with unknown key version {}", *key_version);
    return true;
  }
  auto k = decode_offset_key(key);
  if (!k) return false;
  offsets_.erase(*k);
  return true;
}

void GroupCoordinator::finish_replay(TimePoint now) {
  for (auto& [id, g] : groups_) {
    for (auto& m : g->members) m->last_heartbeat = now;
  }
}

void GroupCoordinator::unload(kafka::ErrorCode error) {
  for (auto& [id, g] : groups_) {
    for (auto& m : g->members) {
      if (m->awaiting_join) {
        kafka::JoinGroupResponse r;
        r.error_code = kafka::to_wire(error);
        r.member_id = m->id;
        replies_.push(m->awaiting_join, std::move(r));
      }
      if (m->awaiting_sync) {
        kafka::SyncGroupResponse r;
        r.error_code = kafka::to_wire(error);
        replies_.push(m->awaiting_sync, std::move(r));
      }
    }
  }
  groups_.clear();
  offsets_.clear();
  replies_.run();
}

bool GroupCoordinator::replay(std::span<const std::byte> key, std::span<const std::byte> value) {
  const auto key_version = group_records::key_version(key);
  if (!key_version) return false;
  if (*key_version == kGroupKeyVersion) return replay_group(key, value);
  if (*key_version != group_records::kOffsetKeyVersion) {
    spdlog::warn("groups: skipping __consumer_offsets record with unknown key version {}", *key_version);
    return true;
  }
  auto k = decode_offset_key(key);
  auto v = decode_offset_value(value);
  if (!k || !v) return false;
  find_or_create_group(k->group);
  offsets_.apply(std::move(*k), std::move(*v));
  return true;
}

}  // namespace nocopy::broker
