#include "kafka/request.h"

#include "kafka/codec.h"

namespace nocopy::kafka {

namespace {

template <class Msg>
DecodeError decode_into(Reader& r, std::int16_t version, RequestBody& body) {
  Msg& m = body.emplace<Msg>();
  return decode_body(r, version, m);
}

DecodeError decode_by_key(ApiKey key, Reader& r, std::int16_t v, RequestBody& body) {
  switch (key) {
    case ApiKey::produce: return decode_into<ProduceRequest>(r, v, body);
    case ApiKey::fetch: return decode_into<FetchRequest>(r, v, body);
    case ApiKey::list_offsets: return decode_into<ListOffsetsRequest>(r, v, body);
    case ApiKey::metadata: return decode_into<MetadataRequest>(r, v, body);
    case ApiKey::offset_commit: return decode_into<OffsetCommitRequest>(r, v, body);
    case ApiKey::offset_fetch: return decode_into<OffsetFetchRequest>(r, v, body);
    case ApiKey::find_coordinator: return decode_into<FindCoordinatorRequest>(r, v, body);
    case ApiKey::join_group: return decode_into<JoinGroupRequest>(r, v, body);
    case ApiKey::heartbeat: return decode_into<HeartbeatRequest>(r, v, body);
    case ApiKey::leave_group: return decode_into<LeaveGroupRequest>(r, v, body);
    case ApiKey::sync_group: return decode_into<SyncGroupRequest>(r, v, body);
    case ApiKey::describe_groups: return decode_into<DescribeGroupsRequest>(r, v, body);
    case ApiKey::list_groups: return decode_into<ListGroupsRequest>(r, v, body);
    case ApiKey::api_versions: return decode_into<ApiVersionsRequest>(r, v, body);
    case ApiKey::create_topics: return decode_into<CreateTopicsRequest>(r, v, body);
    case ApiKey::delete_topics: return decode_into<DeleteTopicsRequest>(r, v, body);
    case ApiKey::init_producer_id: return decode_into<InitProducerIdRequest>(r, v, body);
    case ApiKey::describe_configs: return decode_into<DescribeConfigsRequest>(r, v, body);
    case ApiKey::create_partitions: return decode_into<CreatePartitionsRequest>(r, v, body);
    case ApiKey::delete_groups: return decode_into<DeleteGroupsRequest>(r, v, body);
    case ApiKey::offset_delete: return decode_into<OffsetDeleteRequest>(r, v, body);
    case ApiKey::alter_configs: return decode_into<AlterConfigsRequest>(r, v, body);
    case ApiKey::incremental_alter_configs: return decode_into<IncrementalAlterConfigsRequest>(r, v, body);
  }
  return DecodeError::bad_value;
}

}  // namespace

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
  out.error = decode_by_key(api->key, r, out.header.api_version, out.body);
  if (out.error != DecodeError::none) {
    out.body = std::monostate{};
    out.status = RequestStatus::malformed;
    return out;
  }
  out.status = RequestStatus::ok;
  return out;
}

}  // namespace nocopy::kafka
