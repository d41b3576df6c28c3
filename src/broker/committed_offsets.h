// CommittedOffsets: the committed offset of every (group, topic, partition),
// kept in memory in key order and stored through an OffsetLog.
//
// Contract:
// - commit() appends the record to the log first and applies it in memory
//   only once it is stored; a refused append changes nothing.
// - Deleting is two-step so that the caller can store tombstones for
//   several kinds of keys in one all-or-nothing append_tombstones() call
//   (DeleteGroups adds the group key): the caller stores the tombstones,
//   then erases here.
// - apply()/erase() change memory only (replay of stored records).
// - Single-threaded, like GroupCoordinator which owns it.
#pragma once

#include <map>
#include <ranges>
#include <string>

#include "broker/group_records.h"

namespace nocopy::broker {

class CommittedOffsets {
 public:
  using Map = std::map<GroupOffsetKey, GroupOffsetValue>;

  // `log` may be null (offsets kept in memory only); it must outlive this.
  explicit CommittedOffsets(OffsetLog* log) : log_(log) {}

  // Stores, then applies. False when the log refused the record.
  bool commit(GroupOffsetKey key, GroupOffsetValue value);
  const GroupOffsetValue* find(const GroupOffsetKey& key) const;
  bool contains(const GroupOffsetKey& key) const { return offsets_.contains(key); }
  bool has_group(const std::string& group) const;
  // The group's offsets in (topic, partition) order.
  std::ranges::subrange<Map::const_iterator> of_group(const std::string& group) const;

  void apply(GroupOffsetKey key, GroupOffsetValue value) { offsets_[std::move(key)] = std::move(value); }
  void erase(const GroupOffsetKey& key) { offsets_.erase(key); }
  void erase_group(const std::string& group);
  void clear() { offsets_.clear(); }

 private:
  OffsetLog* log_;
  Map offsets_;
};

}  // namespace nocopy::broker
