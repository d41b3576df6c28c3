// Request header v1 (api_key, api_version, correlation_id, client_id) and v2
// (v1 + tagged fields), chosen from the API's flexible versions. client_id
// stays an int16-length string even in v2. Header v0 (no client_id) is only
// used by ControlledShutdown v0, which nocopy does not speak.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/reader.h"
#include "kafka/writer.h"

namespace nocopy::kafka {

struct RequestHeader {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// Reads the header from the start of a request frame (the bytes after the
// 4-byte size prefix); leaves `r` at the body with its flexible mode set for
// the body. Unknown api keys and versions outside the advertised range are
// read as header v1 (their body is never decoded). Check r.ok().
RequestHeader read_request_header(Reader& r);

// Writes the header for (api_key, api_version) and sets w's flexible mode
// for the body.
void write_request_header(Writer& w, const RequestHeader& h);

// Response header: correlation_id, plus tagged fields when v1; sets w's
// flexible mode for the body.
void write_response_header(Writer& w, std::int16_t api_key, std::int16_t api_version, std::int32_t correlation_id);

}  // namespace nocopy::kafka
