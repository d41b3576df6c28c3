// ConfigDescriber: answers DescribeConfigs (API 32) from the broker's
// Config -- the values the broker and its logs actually run with.
//
// Topic resources: the topic's overrides (Topic::overrides, from CreateTopics
// configs or AlterConfigs, see TopicConfig) are reported with source
// DYNAMIC_TOPIC_CONFIG (1), is_default false, and (v1+ synonyms) the
// override itself first, then the broker-level synonym(s). Every other
// config is the broker-wide one (cleanup.policy, retention.*, segment.*,
// max.message.bytes, message.timestamp.*, flush.*, ...), each with the
// broker config it comes from as its synonym (log.retention.ms,
// message.max.bytes, ...). Source: STATIC_BROKER_CONFIG (4) when the broker
// was started with a value other than Kafka's default (flag or TOML file),
// DEFAULT_CONFIG (5) otherwise; v0's is_default is `source == DEFAULT_CONFIG`.
// Topic configs are read_only = false as in Kafka.
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
#include <utility>
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
    Entry() = default;
    Entry(std::string n, std::string v, std::string dv, std::string syn, kafka::ConfigType t, const char* d)
        : name(std::move(n)), value(std::move(v)), default_value(std::move(dv)), synonym(std::move(syn)), type(t), doc(d) {}
    std::string name;
    std::string value;
    std::string default_value;  // Kafka's default: equal -> DEFAULT_CONFIG
    std::string synonym;        // topic configs: the broker config it comes from
    kafka::ConfigType type = kafka::ConfigType::string;
    const char* doc = "";
    bool overridden = false;    // value is a topic override (DYNAMIC_TOPIC_CONFIG)
    std::string broker_value;   // topic configs: the broker-wide value
    bool is_default() const { return !overridden && value == default_value; }
  };
  // The broker-wide topic configs.
  std::vector<Entry> topic_entries() const;
  // Topic `t`'s: the broker-wide ones with t's overrides applied.
  std::vector<Entry> topic_entries(const Topic& t) const;
  std::vector<Entry> broker_entries() const;

 private:
  std::vector<Entry> broker_topic_entries() const;
  const Config& cfg_;
  const TopicRegistry& topics_;
};

}  // namespace nocopy::broker
