// ListOffsets (key 2): messages generated from schema/list_offsets_*.msg;
// the special timestamps a partition's offset is asked for.
#pragma once

#include <cstdint>

#include "kafka/list_offsets_messages.h"

namespace nocopy::kafka {

inline constexpr std::int64_t kEarliestTimestamp = -2;
inline constexpr std::int64_t kLatestTimestamp = -1;

}  // namespace nocopy::kafka
