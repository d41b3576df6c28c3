// Kafka API keys and the table of versions nocopy speaks.
//
// Both are generated from the request descriptions (src/kafka/schema/
// *_request.msg: api=, advertise=, serve=, flexible=): the ApiKey enum in
// kafka/api_key_enum.h, the rows of supported_apis() in kafka/api_table.inc.
// `supported_apis()` is the single source of truth for the ranges advertised
// in ApiVersions and for what decode_request() accepts. Old minimums are
// advertised on purpose: librdkafka disables features when one specific old
// version is missing.
// `implemented_min` is where the broker actually serves the API; below it (but
// inside the advertised range) requests decode fine and are answered with
// UNSUPPORTED_VERSION (Produce v0..2).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kafka/api_key_enum.h"

namespace nocopy::kafka {


struct ApiInfo {
  ApiKey key;
  std::string_view name;
  std::int16_t min_version;      // advertised
  std::int16_t max_version;      // advertised
  std::int16_t implemented_min;  // served; [min_version, implemented_min) -> UNSUPPORTED_VERSION
  std::int16_t flexible_from;    // first version using compact encodings + tagged fields
  std::string_view label;        // snake_case name for logs and metric labels ("list_offsets")
};

// All supported APIs, ordered by key.
std::span<const ApiInfo> supported_apis();

// nullptr when the key is not one nocopy speaks.
const ApiInfo* find_api(std::int16_t api_key);

inline bool version_advertised(const ApiInfo& api, std::int16_t version) {
  return version >= api.min_version && version <= api.max_version;
}

// `label` of the API, "unknown" when the key is not one nocopy speaks.
std::string_view api_label(std::int16_t api_key);

// Whether (api, version) uses the flexible encoding. Unknown APIs: false.
bool is_flexible(std::int16_t api_key, std::int16_t version);

// Request header version for (api, version): 2 when flexible, else 1.
int request_header_version(std::int16_t api_key, std::int16_t version);

// Response header version: 1 when flexible, else 0 -- except ApiVersions,
// whose response header is always v0 (KIP-511: a client that does not know
// the broker's versions must be able to parse the answer).
int response_header_version(std::int16_t api_key, std::int16_t version);

}  // namespace nocopy::kafka
