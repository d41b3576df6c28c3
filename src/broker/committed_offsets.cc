#include "broker/committed_offsets.h"

#include <climits>

namespace nocopy::broker {

namespace {

GroupOffsetKey first_key_of(const std::string& group) { return GroupOffsetKey{group, "", INT32_MIN}; }

}  // namespace

bool CommittedOffsets::commit(GroupOffsetKey key, GroupOffsetValue value) {
  if (log_ != nullptr &&
      !log_->append(group_records::encode_offset_key(key), group_records::encode_offset_value(value))) {
    return false;
  }
  offsets_[std::move(key)] = std::move(value);
  return true;
}

const GroupOffsetValue* CommittedOffsets::find(const GroupOffsetKey& key) const {
  auto it = offsets_.find(key);
  return it == offsets_.end() ? nullptr : &it->second;
}

bool CommittedOffsets::has_group(const std::string& group) const {
  auto o = offsets_.lower_bound(first_key_of(group));
  return o != offsets_.end() && o->first.group == group;
}

std::ranges::subrange<CommittedOffsets::Map::const_iterator> CommittedOffsets::of_group(
    const std::string& group) const {
  return {offsets_.lower_bound(first_key_of(group)), offsets_.lower_bound(first_key_of(group + '\0'))};
}

void CommittedOffsets::erase_group(const std::string& group) {
  offsets_.erase(offsets_.lower_bound(first_key_of(group)), offsets_.lower_bound(first_key_of(group + '\0')));
}

}  // namespace nocopy::broker
