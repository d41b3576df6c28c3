#include "kafka/request_header.h"

#include "kafka/api_key.h"

namespace nocopy::kafka {

RequestHeader read_request_header(Reader& r) {
  RequestHeader h;
  r.set_flexible(false);
  h.api_key = r.i16();
  h.api_version = r.i16();
  h.correlation_id = r.i32();
  auto cid = r.nullable_string();
  if (cid) h.client_id.emplace(*cid);
  if (!r.ok()) return h;
  // Header v2 adds tagged fields -- but only a version we speak says which
  // header it uses. For an unadvertised version (answered with
  // UNSUPPORTED_VERSION, or closed) stop after client_id: a client probing
  // ApiVersions v99 with a v1 header must still get its answer (KIP-511).
  const ApiInfo* api = find_api(h.api_key);
  const bool known = api != nullptr && version_advertised(*api, h.api_version);
  if (known && request_header_version(h.api_key, h.api_version) >= 2) r.skip_tagged_fields();
  r.set_flexible(is_flexible(h.api_key, h.api_version));
  return h;
}

void write_request_header(Writer& w, const RequestHeader& h) {
  w.set_flexible(false);
  w.i16(h.api_key);
  w.i16(h.api_version);
  w.i32(h.correlation_id);
  if (h.client_id) w.nullable_string(std::string_view(*h.client_id));
  else w.nullable_string(std::nullopt);
  if (request_header_version(h.api_key, h.api_version) >= 2) w.empty_tagged_fields();
  w.set_flexible(is_flexible(h.api_key, h.api_version));
}

void write_response_header(Writer& w, std::int16_t api_key, std::int16_t api_version, std::int32_t correlation_id) {
  w.set_flexible(false);
  w.i32(correlation_id);
  if (response_header_version(api_key, api_version) >= 1) w.empty_tagged_fields();
  w.set_flexible(is_flexible(api_key, api_version));
}

}  // namespace nocopy::kafka
