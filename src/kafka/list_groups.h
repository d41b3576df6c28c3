// ListGroups (key 16), versions 0..2 (flexible from v3, not served).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct ListGroupsRequest {
  static constexpr ApiKey kApiKey = ApiKey::list_groups;
};

template <class Io>
void serde(Io& io, ListGroupsRequest&) {
  io.tags();
}

struct ListGroupsResponse {
  static constexpr ApiKey kApiKey = ApiKey::list_groups;
  struct Group {
    std::string group_id;
    std::string protocol_type;
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<Group> groups;
};

template <class Io>
void serde(Io& io, ListGroupsResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
  io.array(m.groups, [](auto& io2, ListGroupsResponse::Group& g) {
    io2.str(g.group_id);
    io2.str(g.protocol_type);
  });
}

}  // namespace nocopy::kafka
