// Kafka's topic-name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or
// "..". Anything else is INVALID_TOPIC_EXCEPTION; a legal name is also a
// safe single path component (no '/', no "..").
#pragma once

#include <string_view>

namespace nocopy::kafka {

inline constexpr std::size_t kMaxTopicNameLength = 249;

bool is_valid_topic_name(std::string_view name);

}  // namespace nocopy::kafka
