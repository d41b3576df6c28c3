#include "kafka/api_key.h"

#include <array>

namespace nocopy::kafka {

namespace {

constexpr std::array<ApiInfo, 17> kApis{{
    {ApiKey::produce, "Produce", 0, 7, 3, 9},
    {ApiKey::fetch, "Fetch", 4, 11, 4, 12},
    {ApiKey::list_offsets, "ListOffsets", 1, 3, 1, 6},
    {ApiKey::metadata, "Metadata", 0, 6, 0, 9},
    {ApiKey::offset_commit, "OffsetCommit", 2, 7, 2, 8},
    {ApiKey::offset_fetch, "OffsetFetch", 1, 5, 1, 6},
    {ApiKey::find_coordinator, "FindCoordinator", 0, 2, 0, 3},
    {ApiKey::join_group, "JoinGroup", 0, 5, 0, 6},
    {ApiKey::heartbeat, "Heartbeat", 0, 3, 0, 4},
    {ApiKey::leave_group, "LeaveGroup", 0, 3, 0, 4},
    {ApiKey::sync_group, "SyncGroup", 0, 3, 0, 4},
    {ApiKey::describe_groups, "DescribeGroups", 0, 2, 0, 5},
    {ApiKey::list_groups, "ListGroups", 0, 2, 0, 3},
    {ApiKey::api_versions, "ApiVersions", 0, 3, 0, 3},
    {ApiKey::create_topics, "CreateTopics", 0, 4, 0, 5},
    {ApiKey::delete_topics, "DeleteTopics", 0, 3, 0, 4},
    {ApiKey::init_producer_id, "InitProducerId", 0, 1, 0, 2},
}};

}  // namespace

std::span<const ApiInfo> supported_apis() { return kApis; }

const ApiInfo* find_api(std::int16_t api_key) {
  for (const ApiInfo& a : kApis) {
    if (static_cast<std::int16_t>(a.key) == api_key) return &a;
  }
  return nullptr;
}

bool is_flexible(std::int16_t api_key, std::int16_t version) {
  const ApiInfo* a = find_api(api_key);
  return a != nullptr && version >= a->flexible_from;
}

int request_header_version(std::int16_t api_key, std::int16_t version) {
  return is_flexible(api_key, version) ? 2 : 1;
}

int response_header_version(std::int16_t api_key, std::int16_t version) {
  if (api_key == static_cast<std::int16_t>(ApiKey::api_versions)) return 0;
  return is_flexible(api_key, version) ? 1 : 0;
}

}  // namespace nocopy::kafka
