// ConfigDescriber: answers DescribeConfigs (API 32) from the broker's
// Config -- the values the broker and its logs actually run with.
//
// Topic resources: nocopy has no per-topic overrides, so every topic's
// effective config is the broker-wide one (cleanup.policy, retention.*,
// segment.*, max.message.bytes, message.timestamp.type, flush.*, ...), each
// with the broker config it comes from as its synonym (log.retention.ms,
// message.max.bytes, ...). Source: STATIC_BROKER_CONFIG (4) when the broker
// was started with a value other than Kafka's default (flag or TOML file),
// DEFAULT_CONFIG (5) otherwise; v0's is_default is `source == DEFAULT_CONFIG`.
// Topic configs are read_only = false as in Kafka (they are per-topic
// settable there; nocopy does not implement AlterConfigs).
// Broker resources: the name must be this broker's node id ("0"); the empty
// name (cluster-wide dynamic defaults) answers an empty list, as Kafka does
// when none are set. Broker configs are static here: read_only = true.
//
// Errors are per resource: an illegal topic name INVALID_TOPIC_EXCEPTION, an
// unknown topic UNKNOWN_TOPIC_OR_PARTITION, another broker id or an
// unsupported resource type (including BROKER_LOGGER) INVALID_REQUEST.
// Requested keys that do not exist are left out (Kafka does the same).
//
// Thread-safety: describe() only reads the Config (immutable while serving)
// and the registry (its own locking): call from any reactor thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/config.h"
#include "broker/topic_registry.h"
#include "kafka/describe_configs.h"

namespace nocopy::broker {

class ConfigDescriber {
 public:
  ConfigDescriber(const Config& cfg, const TopicRegistry& topics) : cfg_(cfg), topics_(topics) {}

  kafka::DescribeConfigsResponse describe(const kafka::DescribeConfigsRequest& req, std::int16_t version) const;

  // One config as the broker runs it (exposed for tests).
  struct Entry {
    std::string name;
    std::string value;
    std::string default_value;  // Kafka's default: equal -> DEFAULT_CONFIG
    std::string synonym;        // topic configs: the broker config it comes from
    kafka::ConfigType type = kafka::ConfigType::string;
    const char* doc = "";
    bool is_default() const { return value == default_value; }
  };
  std::vector<Entry> topic_entries() const;
  std::vector<Entry> broker_entries() const;

 private:
  const Config& cfg_;
  const TopicRegistry& topics_;
};

}  // namespace nocopy::broker
