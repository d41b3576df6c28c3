#include "broker/api_keys.h"

namespace nocopy::broker {

std::string_view api_name(std::int16_t key) {
  switch (key) {
    case api::produce: return "produce";
    case api::fetch: return "fetch";
    case api::list_offsets: return "list_offsets";
    case api::metadata: return "metadata";
    case api::offset_commit: return "offset_commit";
    case api::offset_fetch: return "offset_fetch";
    case api::find_coordinator: return "find_coordinator";
    case api::join_group: return "join_group";
    case api::heartbeat: return "heartbeat";
    case api::leave_group: return "leave_group";
    case api::sync_group: return "sync_group";
    case api::describe_groups: return "describe_groups";
    case api::list_groups: return "list_groups";
    case api::api_versions: return "api_versions";
    case api::create_topics: return "create_topics";
    case api::delete_topics: return "delete_topics";
    case api::init_producer_id: return "init_producer_id";
    default: return "unknown";
  }
}

}  // namespace nocopy::broker
