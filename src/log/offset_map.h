// The cleaner's key -> last offset map over the dirty section of a log
// (Kafka's OffsetMap, exact rather than hashed: keys are stored whole, so two
// keys never collide and a record is dropped only when a later record has
// the very same key).
//
// Bounded like Kafka's log.cleaner.dedupe.buffer.size: the map accounts
// each entry as its key's bytes plus kEntryOverhead (the hash node, the
// string, the bucket, the offset), and fits() tells whether more entries
// stay within capacity_bytes. The cleaner stops building the map at the
// first batch that does not fit and cleans up to there.
// Thread-safety: none (one cleaning at a time uses it).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nocopy::log {

class OffsetMap {
 public:
  // Bytes accounted per entry besides its key.
  static constexpr std::uint64_t kEntryOverhead = 64;

  explicit OffsetMap(std::uint64_t capacity_bytes = std::numeric_limits<std::uint64_t>::max())
      : capacity_(capacity_bytes) {}

  // Records `offset` as the latest for `key` (offsets are put in log order).
  void put(std::string_view key, std::int64_t offset) {
    auto it = map_.find(key);
    if (it == map_.end()) {
      key_bytes_ += key.size();
      map_.emplace(std::string(key), offset);
    } else {
      it->second = offset;
    }
  }
  std::optional<std::int64_t> get(std::string_view key) const {
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  // True when `entries` more keys of `key_bytes` bytes in all (an upper
  // bound: some may be in the map already) stay within the capacity.
  bool fits(std::uint64_t entries, std::uint64_t key_bytes) const noexcept {
    const std::uint64_t more = entries * kEntryOverhead + key_bytes;
    return more <= capacity_ && memory_bytes() <= capacity_ - more;
  }
  // The accounted size of the entries held.
  std::uint64_t memory_bytes() const noexcept { return key_bytes_ + map_.size() * kEntryOverhead; }
  std::uint64_t capacity_bytes() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return map_.size(); }
  std::uint64_t key_bytes() const noexcept { return key_bytes_; }
  void clear() {
    map_.clear();
    key_bytes_ = 0;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> map_;
  std::uint64_t key_bytes_ = 0;
  std::uint64_t capacity_;
};

}  // namespace nocopy::log
