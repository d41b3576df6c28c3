// Kafka protocol error codes the broker answers with (apache/kafka Errors.java).
#pragma once

#include <cstdint>

namespace nocopy::broker::err {

inline constexpr std::int16_t none = 0;
inline constexpr std::int16_t offset_out_of_range = 1;
inline constexpr std::int16_t corrupt_message = 2;
inline constexpr std::int16_t unknown_topic_or_partition = 3;
inline constexpr std::int16_t message_too_large = 10;
inline constexpr std::int16_t not_coordinator = 16;
inline constexpr std::int16_t invalid_topic = 17;
inline constexpr std::int16_t record_list_too_large = 18;
inline constexpr std::int16_t invalid_required_acks = 21;
inline constexpr std::int16_t unsupported_version = 35;
inline constexpr std::int16_t topic_already_exists = 36;
inline constexpr std::int16_t invalid_partitions = 37;
inline constexpr std::int16_t invalid_replication_factor = 38;
inline constexpr std::int16_t invalid_request = 42;
inline constexpr std::int16_t kafka_storage_error = 56;
inline constexpr std::int16_t unsupported_compression_type = 76;
inline constexpr std::int16_t invalid_record = 87;
inline constexpr std::int16_t unknown_server_error = -1;

}  // namespace nocopy::broker::err
