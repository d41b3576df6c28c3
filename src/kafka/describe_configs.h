// DescribeConfigs (key 32): the messages are generated from
// schema/describe_configs_*.msg; here the numbering of the int8 fields that
// the config APIs share (resource types, config sources and types).
#pragma once

#include <cstdint>

#include "kafka/describe_configs_messages.h"

namespace nocopy::kafka {

// ConfigResource.Type (org.apache.kafka.common.config.ConfigResource).
enum class ConfigResourceType : std::int8_t { unknown = 0, topic = 2, broker = 4, broker_logger = 8 };

// DescribeConfigsResponse.ConfigSource.
enum class ConfigSource : std::int8_t {
  unknown = 0,
  dynamic_topic_config = 1,
  dynamic_broker_config = 2,
  dynamic_default_broker_config = 3,
  static_broker_config = 4,
  default_config = 5,
};

// ConfigDef.Type as DescribeConfigs v3+ numbers it.
enum class ConfigType : std::int8_t { unknown = 0, boolean = 1, string = 2, int_ = 3, short_ = 4, long_ = 5, double_ = 6, list = 7 };

}  // namespace nocopy::kafka
