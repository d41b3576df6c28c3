// COMPATIBILITY SHIM, to be deleted: the API keys live in kafka/api_key.h
// (kafka::ApiKey, kafka::api_label). Only files outside the broker protocol
// code still include this (groups_service.cc, metrics.cc); nothing here
// defines a value of its own, every name forwards to src/kafka.
#pragma once

#include <cstdint>
#include <string_view>

#include "kafka/api_key.h"

namespace nocopy::broker {

namespace api {
inline constexpr std::int16_t offset_commit = static_cast<std::int16_t>(kafka::ApiKey::offset_commit);
inline constexpr std::int16_t offset_fetch = static_cast<std::int16_t>(kafka::ApiKey::offset_fetch);
inline constexpr std::int16_t join_group = static_cast<std::int16_t>(kafka::ApiKey::join_group);
inline constexpr std::int16_t heartbeat = static_cast<std::int16_t>(kafka::ApiKey::heartbeat);
inline constexpr std::int16_t leave_group = static_cast<std::int16_t>(kafka::ApiKey::leave_group);
inline constexpr std::int16_t sync_group = static_cast<std::int16_t>(kafka::ApiKey::sync_group);
inline constexpr std::int16_t describe_groups = static_cast<std::int16_t>(kafka::ApiKey::describe_groups);
inline constexpr std::int16_t list_groups = static_cast<std::int16_t>(kafka::ApiKey::list_groups);
}  // namespace api

// Metric label of an API key ("produce", ...; "unknown"): kafka::api_label.
inline std::string_view api_name(std::int16_t key) { return kafka::api_label(key); }

}  // namespace nocopy::broker
