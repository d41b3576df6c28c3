// ListOffsets (key 2): messages generated from schema/list_offsets_*.msg;
// the special timestamps a partition's offset is asked for, and the first
// version that may ask for each (Kafka refuses it below that version).
#pragma once

#include <cstdint>

#include "kafka/list_offsets_messages.h"

namespace nocopy::kafka {

inline constexpr std::int64_t kLatestTimestamp = -1;
inline constexpr std::int64_t kEarliestTimestamp = -2;
inline constexpr std::int64_t kMaxTimestamp = -3;            // v7+ (KIP-734)
inline constexpr std::int64_t kEarliestLocalTimestamp = -4;  // v8+ (KIP-405)
inline constexpr std::int64_t kLatestTieredTimestamp = -5;   // v9+ (KIP-1005)
inline constexpr std::int64_t kEarliestPendingUploadTimestamp = -6;  // v11+ (KIP-1023)

// True when `version` is too old to ask for `timestamp`: -4 before v8, -5
// before v9, -6 before v11 (Kafka answers UNSUPPORTED_VERSION). -3 before v7
// is not refused (Kafka's clients never send it; brokers answer it).
constexpr bool timestamp_needs_newer_version(std::int64_t timestamp, std::int16_t version) {
  return (timestamp == kEarliestLocalTimestamp && version < 8) || (timestamp == kLatestTieredTimestamp && version < 9) ||
         (timestamp == kEarliestPendingUploadTimestamp && version < 11);
}

}  // namespace nocopy::kafka
