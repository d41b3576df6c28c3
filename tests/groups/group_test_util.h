// Helpers for the GroupCoordinator tests (tests/groups and the persistence
// tests in tests/broker): byte strings, callback slots, an in-memory OffsetLog.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/group_coordinator.h"

namespace nocopy::broker::testing {

// The bytes of `s`, copied.
inline kafka::ByteVec bytes(std::string_view s) {
  auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

// Records what an asynchronous callback delivered and how often it ran.
template <class R>
struct Slot {
  std::optional<R> value;
  int calls = 0;
  auto callback() {
    return [this](R r) {
      value = std::move(r);
      ++calls;
    };
  }
};

// An OffsetLog that keeps every appended record in memory; `fail` makes
// appends fail (a storage error).
class MemoryOffsetLog : public OffsetLog {
 public:
  bool append(std::span<const std::byte> key, std::span<const std::byte> value) override {
    if (fail) return false;
    records.emplace_back(kafka::ByteVec(key.begin(), key.end()), kafka::ByteVec(value.begin(), value.end()));
    return true;
  }
  // How many of the records are group (membership) records.
  std::size_t group_records() const {
    std::size_t n = 0;
    for (const auto& [k, v] : records) n += GroupCoordinator::decode_group_key(k).has_value() ? 1 : 0;
    return n;
  }
  std::vector<std::pair<kafka::ByteVec, kafka::ByteVec>> records;
  bool fail = false;
};

}  // namespace nocopy::broker::testing
