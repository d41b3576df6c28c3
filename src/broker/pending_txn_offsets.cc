#include "broker/pending_txn_offsets.h"

namespace nocopy::broker {

void PendingTxnOffsets::add(std::int64_t producer_id, const GroupOffsetKey& key, Record record) {
  by_producer_[producer_id][key] = std::move(record);
}

std::vector<PendingTxnOffsets::Record> PendingTxnOffsets::take(std::int64_t producer_id) {
  std::vector<Record> out;
  auto it = by_producer_.find(producer_id);
  if (it == by_producer_.end()) return out;
  out.reserve(it->second.size());
  for (auto& [k, r] : it->second) out.push_back(std::move(r));
  by_producer_.erase(it);
  return out;
}

bool PendingTxnOffsets::pending(const std::string& group, const std::string& topic, std::int32_t partition) const {
  const GroupOffsetKey k{group, topic, partition};
  for (const auto& [pid, records] : by_producer_)
    if (records.contains(k)) return true;
  return false;
}

}  // namespace nocopy::broker
