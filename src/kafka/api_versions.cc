#include "kafka/api_versions.h"

namespace nocopy::kafka {

namespace {
// The first version of each API that is transaction version 2 only.
std::int16_t tv2_from(ApiKey key) {
  return key == ApiKey::end_txn || key == ApiKey::txn_offset_commit ? 5 : -1;
}
}  // namespace

ApiVersionsResponse make_api_versions_response(std::int16_t request_version, std::int16_t transaction_version) {
  ApiVersionsResponse r;
  const ApiInfo* self = find_api(static_cast<std::int16_t>(ApiKey::api_versions));
  if (request_version < self->min_version || request_version > self->max_version) {
    r.error_code = to_wire(ErrorCode::unsupported_version);
    r.api_keys.push_back({static_cast<std::int16_t>(ApiKey::api_versions), self->min_version, self->max_version});
    return r;
  }
  for (const ApiInfo& a : supported_apis()) {
    std::int16_t max = a.max_version;
    if (const std::int16_t tv2 = tv2_from(a.key); tv2 >= 0 && transaction_version < 2 && max >= tv2) max = tv2 - 1;
    r.api_keys.push_back({static_cast<std::int16_t>(a.key), a.min_version, max});
  }
  r.supported_features.push_back({kTransactionVersionFeature, 0, kMaxTransactionVersion});
  r.finalized_features_epoch = kFinalizedFeaturesEpoch;
  if (transaction_version > 0)
    r.finalized_features.push_back({kTransactionVersionFeature, transaction_version, transaction_version});
  return r;
}

namespace {

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Kafka's SOFTWARE_NAME_VERSION_PATTERN: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
bool valid_software_token(std::string_view s) {
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

ErrorCode check_api_versions_request(const ApiVersionsRequest& req, std::int16_t version,
                                     std::string_view cluster_id, std::int32_t node_id) {
  const bool names_cluster = req.cluster_id.has_value();
  const bool names_node = req.node_id != -1;
  if (version >= 5 && names_cluster != names_node) return ErrorCode::invalid_request;
  if (version >= 3 && !(valid_software_token(req.client_software_name) &&
                        valid_software_token(req.client_software_version)))
    return ErrorCode::invalid_request;
  if (version >= 5 && names_cluster && (*req.cluster_id != cluster_id || req.node_id != node_id))
    return ErrorCode::rebootstrap_required;
  return ErrorCode::none;
}

ApiVersionsResponse api_versions_error_response(ErrorCode error) {
  ApiVersionsResponse r;
  r.error_code = to_wire(error);
  return r;
}

}  // namespace nocopy::kafka
