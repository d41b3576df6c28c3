#include "kafka/request.h"

#include "kafka/codec.h"

namespace nocopy::kafka {

namespace {

template <class Msg>
DecodeError decode_into(Reader& r, std::int16_t version, RequestBody& body) {
  Msg& m = body.emplace<Msg>();
  return decode_body(r, version, m);
}

}  // namespace

DecodeError decode_request_body(ApiKey key, Reader& r, std::int16_t version, RequestBody& body) {
  switch (key) {
#include "kafka/request_dispatch.inc"
  }
  return DecodeError::bad_value;
}

DecodedRequest decode_request(std::span<const std::byte> frame) {
  DecodedRequest out;
  Reader r(frame);
  out.header = read_request_header(r);
  if (!r.ok()) {
    out.error = r.error();
    return out;
  }
  out.header_ok = true;
  const ApiInfo* api = find_api(out.header.api_key);
  if (api == nullptr) {
    out.status = RequestStatus::unknown_api;
    return out;
  }
  if (!version_advertised(*api, out.header.api_version)) {
    out.status = RequestStatus::unsupported_version;
    return out;
  }
  // Trailing bytes after the body are tolerated, as Kafka does.
  out.error = decode_request_body(api->key, r, out.header.api_version, out.body);
  if (out.error != DecodeError::none) {
    out.body = std::monostate{};
    out.status = RequestStatus::malformed;
    return out;
  }
  out.status = RequestStatus::ok;
  return out;
}

}  // namespace nocopy::kafka
