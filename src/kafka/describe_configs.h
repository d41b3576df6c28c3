// DescribeConfigs (key 32), versions 0..4; v4 is flexible (compact strings
// and arrays, a tagged-field section after every struct).
//
// Per result: is_default exists only in v0; config_source and synonyms from
// v1; config_type and documentation from v3. A null configuration_keys list
// means "every config of the resource".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

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

struct DescribeConfigsRequest {
  static constexpr ApiKey kApiKey = ApiKey::describe_configs;
  struct Resource {
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::optional<std::vector<std::string>> configuration_keys;  // null = all
  };
  std::vector<Resource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+
};

template <class Io>
void serde(Io& io, DescribeConfigsRequest& m) {
  io.array(m.resources, [](auto& io2, DescribeConfigsRequest::Resource& r) {
    io2.i8(r.resource_type);
    io2.str(r.resource_name);
    io2.narray(r.configuration_keys, kStr);
    io2.tags();
  });
  if (io.v >= 1) io.boolean(m.include_synonyms);
  if (io.v >= 3) io.boolean(m.include_documentation);
  io.tags();
}

struct DescribeConfigsResponse {
  static constexpr ApiKey kApiKey = ApiKey::describe_configs;
  struct Synonym {
    std::string name;
    std::optional<std::string> value;
    std::int8_t source = 0;
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    bool is_default = false;        // v0 only
    std::int8_t config_source = -1;  // v1+
    bool is_sensitive = false;
    std::vector<Synonym> synonyms;   // v1+
    std::int8_t config_type = 0;     // v3+
    std::optional<std::string> documentation;  // v3+
  };
  struct Result {
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
  };
  std::int32_t throttle_time_ms = 0;
  std::vector<Result> results;
};

template <class Io>
void serde(Io& io, DescribeConfigsResponse& m) {
  io.i32(m.throttle_time_ms);
  io.array(m.results, [](auto& io2, DescribeConfigsResponse::Result& r) {
    io2.i16(r.error_code);
    io2.nstr(r.error_message);
    io2.i8(r.resource_type);
    io2.str(r.resource_name);
    io2.array(r.configs, [](auto& io3, DescribeConfigsResponse::Config& c) {
      io3.str(c.name);
      io3.nstr(c.value);
      io3.boolean(c.read_only);
      if (io3.v == 0) io3.boolean(c.is_default);
      if (io3.v >= 1) io3.i8(c.config_source);
      io3.boolean(c.is_sensitive);
      if (io3.v >= 1) {
        io3.array(c.synonyms, [](auto& io4, DescribeConfigsResponse::Synonym& s) {
          io4.str(s.name);
          io4.nstr(s.value);
          io4.i8(s.source);
          io4.tags();
        });
      }
      if (io3.v >= 3) {
        io3.i8(c.config_type);
        io3.nstr(c.documentation);
      }
      io3.tags();
    });
    io2.tags();
  });
  io.tags();
}

}  // namespace nocopy::kafka
