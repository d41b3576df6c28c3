// ApiVersions (key 18); messages generated from schema/api_versions_*.msg.
// v3+ is flexible, but its *response header* is always v0 (see api_key.h).
// A request for a version above the advertised range is answered in v0 layout with UNSUPPORTED_VERSION and the ApiVersions range
// (KIP-511): see make_api_versions_response().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/error_code.h"
#include "kafka/api_versions_messages.h"

namespace nocopy::kafka {

// The feature this broker has: `transaction.version` (KIP-890), supported
// 0..2 and finalized at the broker's level. Java 4.x producers use
// transaction version 2 when the finalized level is 2 or more.
inline constexpr const char* kTransactionVersionFeature = "transaction.version";
inline constexpr std::int16_t kMaxTransactionVersion = 2;
// The epoch of the finalized features (KIP-584): fixed, as the level is set
// by configuration at start (clients read the features once the epoch is
// above -1).
inline constexpr std::int64_t kFinalizedFeaturesEpoch = 1;

// The response the broker sends: every API of supported_apis() with its
// advertised range, and (v3+) the features: `transaction.version` supported
// 0..2 and, at `transaction_version` 1..2, finalized at that level (a level
// 0 feature is not listed as finalized, as Kafka does). Below level 2 EndTxn
// and TxnOffsetCommit are advertised only up to v4 (their v5 is transaction
// version 2). For an unsupported `request_version` the error is
// UNSUPPORTED_VERSION and only ApiVersions' own range is listed; encode that
// at version 0.
ApiVersionsResponse make_api_versions_response(std::int16_t request_version,
                                               std::int16_t transaction_version = kMaxTransactionVersion);

// Kafka's checks of a decoded request at an advertised `version`, in its
// order: v3+ names its software and version in Kafka's alphabet (letters,
// digits, '-' and '.', starting and ending with a letter or digit), else
// INVALID_REQUEST; v5+ gives both `cluster_id` and `node_id` or neither
// (INVALID_REQUEST), and when given they name this broker's cluster and
// node, else REBOOTSTRAP_REQUIRED (KIP-1242: the client's metadata is stale
// and it bootstraps again). ErrorCode::none when the request passes.
ErrorCode check_api_versions_request(const ApiVersionsRequest& req, std::int16_t version,
                                     std::string_view cluster_id, std::int32_t node_id);

// The answer to a request that failed those checks: the error, no APIs
// (Kafka's ApiVersionsRequest::getErrorResponse).
ApiVersionsResponse api_versions_error_response(ErrorCode error);

}  // namespace nocopy::kafka
