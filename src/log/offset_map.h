// The cleaner's key -> last offset map over the dirty section of a log
// (Kafka's OffsetMap, exact rather than hashed: keys are stored whole, so two
// keys never collide and a record is dropped only when a later record has
// the very same key).
// Thread-safety: none (one cleaning at a time uses it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nocopy::log {

class OffsetMap {
 public:
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
};

}  // namespace nocopy::log
