// IncrementalAlterConfigs (key 44), versions 0..1 (v1 flexible): per-config
// operations on a resource's overrides (KIP-339). Response layout as
// AlterConfigs'.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/alter_configs.h"
#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

enum class AlterConfigOp : std::int8_t { set = 0, delete_ = 1, append = 2, subtract = 3 };

struct IncrementalAlterConfigsRequest {
  static constexpr ApiKey kApiKey = ApiKey::incremental_alter_configs;
  struct Config {
    std::string name;
    std::int8_t config_operation = 0;  // AlterConfigOp
    std::optional<std::string> value;
  };
  struct Resource {
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
  };
  std::vector<Resource> resources;
  bool validate_only = false;
};

template <class Io>
void serde(Io& io, IncrementalAlterConfigsRequest& m) {
  io.array(m.resources, [](auto& io2, IncrementalAlterConfigsRequest::Resource& r) {
    io2.i8(r.resource_type);
    io2.str(r.resource_name);
    io2.array(r.configs, [](auto& io3, IncrementalAlterConfigsRequest::Config& c) {
      io3.str(c.name);
      io3.i8(c.config_operation);
      io3.nstr(c.value);
      io3.tags();
    });
    io2.tags();
  });
  io.boolean(m.validate_only);
  io.tags();
}

struct IncrementalAlterConfigsResponse {
  static constexpr ApiKey kApiKey = ApiKey::incremental_alter_configs;
  std::int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;
};

template <class Io>
void serde(Io& io, IncrementalAlterConfigsResponse& m) {
  io.i32(m.throttle_time_ms);
  io.array(m.responses, [](auto& io2, AlterConfigsResourceResponse& r) { serde_alter_result(io2, r); });
  io.tags();
}

}  // namespace nocopy::kafka
