// COMPATIBILITY SHIM, to be deleted: Kafka error codes live in
// kafka/error_code.h (kafka::ErrorCode, kafka::to_wire). Only
// groups_service.cc still includes this; the value forwards to src/kafka.
#pragma once

#include <cstdint>

#include "kafka/error_code.h"

namespace nocopy::broker::err {

inline constexpr std::int16_t none = kafka::to_wire(kafka::ErrorCode::none);

}  // namespace nocopy::broker::err
