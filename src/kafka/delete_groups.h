// DeleteGroups (key 42), versions 0..2; v2 is flexible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct DeleteGroupsRequest {
  static constexpr ApiKey kApiKey = ApiKey::delete_groups;
  std::vector<std::string> groups_names;
};

template <class Io>
void serde(Io& io, DeleteGroupsRequest& m) {
  io.array(m.groups_names, kStr);
  io.tags();
}

struct DeleteGroupsResponse {
  static constexpr ApiKey kApiKey = ApiKey::delete_groups;
  struct Result {
    std::string group_id;
    std::int16_t error_code = 0;
  };
  std::int32_t throttle_time_ms = 0;
  std::vector<Result> results;
};

template <class Io>
void serde(Io& io, DeleteGroupsResponse& m) {
  io.i32(m.throttle_time_ms);
  io.array(m.results, [](auto& io2, DeleteGroupsResponse::Result& r) {
    io2.str(r.group_id);
    io2.i16(r.error_code);
    io2.tags();
  });
  io.tags();
}

}  // namespace nocopy::kafka
