// Kafka's topic-name rule: 1..249 characters of [a-zA-Z0-9._-], not "." or
// "..". Since a partition's directory is `<data_dir>/<topic>-<partition>`,
// this rule is also what keeps every file the broker creates inside its data
// directory (no '/', no "..").
#pragma once

#include <string_view>

namespace nocopy::broker {

bool is_legal_topic_name(std::string_view name);

}  // namespace nocopy::broker
