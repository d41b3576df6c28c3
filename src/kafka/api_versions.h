// ApiVersions (key 18); messages generated from schema/api_versions_*.msg.
// v3+ is flexible, but its *response header* is always v0 (see api_key.h).
// A request for a version above the advertised range is answered in v0 layout with UNSUPPORTED_VERSION and the ApiVersions range
// (KIP-511): see make_api_versions_response().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/error_code.h"
#include "kafka/api_versions_messages.h"

namespace nocopy::kafka {

// The response the broker sends: every API of supported_apis() with its
// advertised range. For an unsupported `request_version` the error is
// UNSUPPORTED_VERSION and only ApiVersions' own range is listed; encode that
// at version 0.
ApiVersionsResponse make_api_versions_response(std::int16_t request_version);

}  // namespace nocopy::kafka
