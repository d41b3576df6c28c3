// IncrementalAlterConfigs (key 44): per-config operations on a resource's
// overrides (KIP-339). The messages are generated from
// schema/incremental_alter_configs_*.msg; here the operations' numbering.
#pragma once

#include <cstdint>

#include "kafka/incremental_alter_configs_messages.h"

namespace nocopy::kafka {

enum class AlterConfigOp : std::int8_t { set = 0, delete_ = 1, append = 2, subtract = 3 };

}  // namespace nocopy::kafka
