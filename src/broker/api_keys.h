// Kafka API keys and the version ranges this broker advertises
// (../shared/KAFKA_NOTES.md: old minimums on purpose, librdkafka checks them).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace nocopy::broker {

namespace api {
inline constexpr std::int16_t produce = 0;
inline constexpr std::int16_t fetch = 1;
inline constexpr std::int16_t list_offsets = 2;
inline constexpr std::int16_t metadata = 3;
inline constexpr std::int16_t offset_commit = 8;
inline constexpr std::int16_t offset_fetch = 9;
inline constexpr std::int16_t find_coordinator = 10;
inline constexpr std::int16_t join_group = 11;
inline constexpr std::int16_t heartbeat = 12;
inline constexpr std::int16_t leave_group = 13;
inline constexpr std::int16_t sync_group = 14;
inline constexpr std::int16_t describe_groups = 15;
inline constexpr std::int16_t list_groups = 16;
inline constexpr std::int16_t api_versions = 18;
inline constexpr std::int16_t create_topics = 19;
inline constexpr std::int16_t delete_topics = 20;
inline constexpr std::int16_t init_producer_id = 22;
inline constexpr std::int16_t max_key = 22;
}  // namespace api

struct ApiRange {
  std::int16_t key;
  std::int16_t min;
  std::int16_t max;
};

// Name used in logs and metric labels ("produce", "fetch", ...); "unknown" otherwise.
std::string_view api_name(std::int16_t key);

}  // namespace nocopy::broker
