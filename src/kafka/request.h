// decode_request(): one request frame -> header + typed body.
//
// The frame is the bytes after the 4-byte size prefix. Decoding never reads
// outside it and never allocates more than a constant times its size. The
// decoded body views the frame (Produce records, see schema/produce_request.msg): keep the
// frame alive while using the result.
//
// Outcomes the broker must tell apart:
//   ok                   serve it.
//   unsupported_version  header is valid, the version is outside the
//                        advertised range: answer UNSUPPORTED_VERSION
//                        (ApiVersions: make_api_versions_response()).
//   unknown_api          header valid, api key not spoken: close (Kafka does).
//   malformed            header or body undecodable: close the connection.
#pragma once

#include <cstdint>
#include <span>
#include <variant>

#include "kafka/messages.h"
#include "kafka/request_body.h"
#include "kafka/reader.h"
#include "kafka/request_header.h"

namespace nocopy::kafka {

// RequestBody (the variant of every request type, by API key) is generated:
// kafka/request_body.h.

enum class RequestStatus : std::uint8_t { ok, unsupported_version, unknown_api, malformed };

struct DecodedRequest {
  RequestStatus status = RequestStatus::malformed;
  DecodeError error = DecodeError::none;  // why, when malformed
  bool header_ok = false;                 // header (incl. correlation id) is usable
  RequestHeader header;
  RequestBody body;  // monostate unless status == ok
};

DecodedRequest decode_request(std::span<const std::byte> frame);

}  // namespace nocopy::kafka
