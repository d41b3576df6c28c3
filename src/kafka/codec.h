// Generic message codecs over the serde() field lists, and framing.
//
// decode_body/encode_body handle one message body at a given version, with
// the reader/writer's flexible mode already set (read_request_header and
// write_*_header do that). encode_response/encode_request add the 4-byte
// size prefix and the header.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/reader.h"
#include "kafka/request_header.h"
#include "kafka/serde.h"
#include "kafka/writer.h"

namespace nocopy::kafka {

template <class Msg>
DecodeError decode_body(Reader& r, std::int16_t version, Msg& out) {
  Decoder d(r, version);
  serde(d, out);
  return r.error();
}

template <class Msg>
void encode_body(Writer& w, std::int16_t version, const Msg& m) {
  Encoder e(w, version);
  // serde() takes a mutable reference so one field list serves both
  // directions; the Encoder only reads.
  serde(e, const_cast<Msg&>(m));
}

// A response ready to send: `bytes` (size prefix + header + body without
// record bytes) interleaved with `splices` (file regions the caller sends
// at those buffer offsets, in order). total_size() = bytes on the wire.
struct EncodedResponse {
  std::vector<std::byte> bytes;
  std::vector<SplicePoint> splices;

  std::uint64_t total_size() const {
    std::uint64_t n = bytes.size();
    for (const SplicePoint& s : splices) n += s.length;
    return n;
  }
};

// Size prefix + response header + body. ApiVersions responses for a version
// outside the advertised range are encoded in the v0 layout (KIP-511).
template <class Msg>
EncodedResponse encode_response(std::int32_t correlation_id, std::int16_t version, const Msg& m) {
  const auto key = static_cast<std::int16_t>(Msg::kApiKey);
  if (Msg::kApiKey == ApiKey::api_versions) {
    const ApiInfo* api = find_api(key);
    if (version < api->min_version || version > api->max_version) version = 0;
  }
  Writer w;
  std::size_t at = w.reserve_i32();
  write_response_header(w, key, version, correlation_id);
  encode_body(w, version, m);
  w.patch_i32(at, static_cast<std::int32_t>(w.size() - 4));
  return EncodedResponse{w.take_buffer(), w.take_splices()};
}

// Size prefix + request header + body (clients, tests, fuzz seeds).
template <class Msg>
std::vector<std::byte> encode_request(std::int32_t correlation_id, std::int16_t version, const Msg& m,
                                      std::optional<std::string> client_id = std::string("nocopy")) {
  Writer w;
  std::size_t at = w.reserve_i32();
  write_request_header(w, RequestHeader{static_cast<std::int16_t>(Msg::kApiKey), version, correlation_id,
                                        std::move(client_id)});
  encode_body(w, version, m);
  w.patch_i32(at, static_cast<std::int32_t>(w.size() - 4));
  return w.take_buffer();
}

// Parses a response frame (after the size prefix) of a known API/version:
// correlation id, header tagged fields, body. Rejects trailing bytes.
template <class Msg>
DecodeError decode_response(std::span<const std::byte> frame, std::int16_t version, std::int32_t& correlation_id,
                            Msg& out) {
  const auto key = static_cast<std::int16_t>(Msg::kApiKey);
  Reader r(frame);
  correlation_id = r.i32();
  if (response_header_version(key, version) >= 1) r.skip_tagged_fields();
  r.set_flexible(is_flexible(key, version));
  decode_body(r, version, out);
  if (r.ok() && r.remaining() != 0) r.fail(DecodeError::trailing_bytes);
  return r.error();
}

}  // namespace nocopy::kafka
