// AlterConfigs (key 33), versions 0..2 (v2 flexible): replaces a resource's
// whole set of config overrides with the given one (names not listed go back
// to their defaults). Per-resource errors in the response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct AlterConfigsRequest {
  static constexpr ApiKey kApiKey = ApiKey::alter_configs;
  struct Config {
    std::string name;
    std::optional<std::string> value;
  };
  struct Resource {
    std::int8_t resource_type = 0;  // ConfigResourceType (describe_configs.h)
    std::string resource_name;
    std::vector<Config> configs;
  };
  std::vector<Resource> resources;
  bool validate_only = false;
};

template <class Io>
void serde(Io& io, AlterConfigsRequest& m) {
  io.array(m.resources, [](auto& io2, AlterConfigsRequest::Resource& r) {
    io2.i8(r.resource_type);
    io2.str(r.resource_name);
    io2.array(r.configs, [](auto& io3, AlterConfigsRequest::Config& c) {
      io3.str(c.name);
      io3.nstr(c.value);
      io3.tags();
    });
    io2.tags();
  });
  io.boolean(m.validate_only);
  io.tags();
}

// The response of both AlterConfigs and IncrementalAlterConfigs.
struct AlterConfigsResourceResponse {
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::int8_t resource_type = 0;
  std::string resource_name;
};

template <class Io>
void serde_alter_result(Io& io, AlterConfigsResourceResponse& r) {
  io.i16(r.error_code);
  io.nstr(r.error_message);
  io.i8(r.resource_type);
  io.str(r.resource_name);
  io.tags();
}

struct AlterConfigsResponse {
  static constexpr ApiKey kApiKey = ApiKey::alter_configs;
  std::int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;
};

template <class Io>
void serde(Io& io, AlterConfigsResponse& m) {
  io.i32(m.throttle_time_ms);
  io.array(m.responses, [](auto& io2, AlterConfigsResourceResponse& r) { serde_alter_result(io2, r); });
  io.tags();
}

}  // namespace nocopy::kafka
