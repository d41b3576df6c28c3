#include "kafka/api_key.h"

#include <array>

namespace nocopy::kafka {

namespace {

constexpr std::array<ApiInfo, 23> kApis{{
    {ApiKey::produce, "Produce", 0, 7, 3, 9, "produce"},
    {ApiKey::fetch, "Fetch", 4, 11, 4, 12, "fetch"},
    {ApiKey::list_offsets, "ListOffsets", 1, 3, 1, 6, "list_offsets"},
    {ApiKey::metadata, "Metadata", 0, 6, 0, 9, "metadata"},
    {ApiKey::offset_commit, "OffsetCommit", 2, 7, 2, 8, "offset_commit"},
    {ApiKey::offset_fetch, "OffsetFetch", 1, 5, 1, 6, "offset_fetch"},
    {ApiKey::find_coordinator, "FindCoordinator", 0, 2, 0, 3, "find_coordinator"},
    {ApiKey::join_group, "JoinGroup", 0, 5, 0, 6, "join_group"},
    {ApiKey::heartbeat, "Heartbeat", 0, 3, 0, 4, "heartbeat"},
    {ApiKey::leave_group, "LeaveGroup", 0, 3, 0, 4, "leave_group"},
    {ApiKey::sync_group, "SyncGroup", 0, 3, 0, 4, "sync_group"},
    {ApiKey::describe_groups, "DescribeGroups", 0, 2, 0, 5, "describe_groups"},
    {ApiKey::list_groups, "ListGroups", 0, 2, 0, 3, "list_groups"},
    {ApiKey::api_versions, "ApiVersions", 0, 3, 0, 3, "api_versions"},
    {ApiKey::create_topics, "CreateTopics", 0, 4, 0, 5, "create_topics"},
    {ApiKey::delete_topics, "DeleteTopics", 0, 3, 0, 4, "delete_topics"},
    {ApiKey::init_producer_id, "InitProducerId", 0, 1, 0, 2, "init_producer_id"},
    {ApiKey::describe_configs, "DescribeConfigs", 0, 4, 0, 4, "describe_configs"},
    {ApiKey::alter_configs, "AlterConfigs", 0, 2, 0, 2, "alter_configs"},
    {ApiKey::create_partitions, "CreatePartitions", 0, 3, 0, 2, "create_partitions"},
    {ApiKey::delete_groups, "DeleteGroups", 0, 2, 0, 2, "delete_groups"},
    {ApiKey::incremental_alter_configs, "IncrementalAlterConfigs", 0, 1, 0, 1, "incremental_alter_configs"},
    {ApiKey::offset_delete, "OffsetDelete", 0, 0, 0, 1, "offset_delete"},
}};

}  // namespace

std::span<const ApiInfo> supported_apis() { return kApis; }

const ApiInfo* find_api(std::int16_t api_key) {
  for (const ApiInfo& a : kApis) {
    if (static_cast<std::int16_t>(a.key) == api_key) return &a;
  }
  return nullptr;
}

std::string_view api_label(std::int16_t api_key) {
  const ApiInfo* a = find_api(api_key);
  return a != nullptr ? a->label : std::string_view("unknown");
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
