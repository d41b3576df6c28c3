// PendingTxnOffsets: the transactional offsets of one __consumer_offsets
// partition that wait for their transaction's marker, by producer id (a
// producer has at most one transaction open). Each is the (key, value)
// offset-commit record as stored in the partition (group_records.h); the
// last record per key wins, as in a replay. The group coordinator's shard
// owns one; not thread-safe (the shard's lock guards it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "broker/group_records.h"

namespace nocopy::broker {

class PendingTxnOffsets {
 public:
  struct Record {
    std::vector<std::byte> key;
    std::vector<std::byte> value;
  };
  void add(std::int64_t producer_id, const GroupOffsetKey& key, Record record);
  // Removes the producer's pending records and returns them (none: empty).
  std::vector<Record> take(std::int64_t producer_id);
  // Whether some transaction holds an offset of (group, topic, partition).
  bool pending(const std::string& group, const std::string& topic, std::int32_t partition) const;
  std::size_t producers() const { return by_producer_.size(); }

 private:
  std::map<std::int64_t, std::map<GroupOffsetKey, Record>> by_producer_;
};

}  // namespace nocopy::broker
