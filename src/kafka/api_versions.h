// ApiVersions (key 18), versions 0..3. v3 is flexible, but its *response
// header* is always v0 (see api_key.h). A request for a version above 3 is
// answered in v0 layout with UNSUPPORTED_VERSION and the ApiVersions range
// (KIP-511): see make_api_versions_response().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/error_code.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct ApiVersionsRequest {
  static constexpr ApiKey kApiKey = ApiKey::api_versions;
  std::string client_software_name;     // v3+
  std::string client_software_version;  // v3+
};

template <class Io>
void serde(Io& io, ApiVersionsRequest& m) {
  if (io.v >= 3) {
    io.str(m.client_software_name);
    io.str(m.client_software_version);
  }
  io.tags();
}

struct ApiVersionsResponse {
  static constexpr ApiKey kApiKey = ApiKey::api_versions;
  struct ApiVersion {
    std::int16_t api_key = 0;
    std::int16_t min_version = 0;
    std::int16_t max_version = 0;
  };
  std::int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  std::int32_t throttle_time_ms = 0;  // v1+
};

template <class Io>
void serde(Io& io, ApiVersionsResponse& m) {
  io.i16(m.error_code);
  io.array(m.api_keys, [](auto& io2, ApiVersionsResponse::ApiVersion& a) {
    io2.i16(a.api_key);
    io2.i16(a.min_version);
    io2.i16(a.max_version);
    io2.tags();
  });
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.tags();
}

// The response the broker sends: every API of supported_apis() with its
// advertised range. For an unsupported `request_version` the error is
// UNSUPPORTED_VERSION and only ApiVersions' own range is listed; encode that
// at version 0.
ApiVersionsResponse make_api_versions_response(std::int16_t request_version);

}  // namespace nocopy::kafka
