#include "kafka/api_versions.h"

namespace nocopy::kafka {

ApiVersionsResponse make_api_versions_response(std::int16_t request_version) {
  ApiVersionsResponse r;
  const ApiInfo* self = find_api(static_cast<std::int16_t>(ApiKey::api_versions));
  if (request_version < self->min_version || request_version > self->max_version) {
    r.error_code = to_wire(ErrorCode::unsupported_version);
    r.api_keys.push_back({static_cast<std::int16_t>(ApiKey::api_versions), self->min_version, self->max_version});
    return r;
  }
  for (const ApiInfo& a : supported_apis()) {
    r.api_keys.push_back({static_cast<std::int16_t>(a.key), a.min_version, a.max_version});
  }
  return r;
}

}  // namespace nocopy::kafka
