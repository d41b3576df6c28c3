// Kafka's Uuid (topic ids, KIP-516): 16 bytes on the wire (kafka::Uuid, see
// reader.h); as text, URL-safe base64 without padding (22 characters), the
// form Kafka prints, keeps in partition.metadata files and accepts from
// tools (Uuid.toString / Uuid.fromString).
//
// The all-zero Uuid means "no id" on the wire (a Metadata topic looked up by
// name, a topic a broker has not assigned an id to); Kafka never hands out
// it or the reserved id 0...01 (METADATA_TOPIC_ID) as a topic id.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kafka/reader.h"

namespace nocopy::kafka {

inline constexpr Uuid kZeroUuid{};

constexpr bool is_zero(const Uuid& u) { return u == kZeroUuid; }

// 22 characters of [A-Za-z0-9_-].
std::string uuid_to_string(const Uuid& u);

// The Uuid `text` spells (exactly 22 URL-safe base64 characters whose last
// one carries no stray bits); nullopt for anything else.
std::optional<Uuid> parse_uuid(std::string_view text);

// A fresh random (version 4) topic id, as Kafka's Uuid.randomUuid: never
// zero, never the reserved 0...01, and its text never starts with '-' (it
// would read as a command-line option). Draws from std::random_device
// (the kernel's getrandom on Linux); thread-safe.
Uuid random_topic_id();

}  // namespace nocopy::kafka
