// SyncGroup (key 14), versions 0..3. The leader sends every member's
// assignment; the others send an empty list and wait for theirs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct SyncGroupRequest {
  static constexpr ApiKey kApiKey = ApiKey::sync_group;
  struct Assignment {
    std::string member_id;
    ByteVec assignment;
  };
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  std::vector<Assignment> assignments;
};

template <class Io>
void serde(Io& io, SyncGroupRequest& m) {
  io.str(m.group_id);
  io.i32(m.generation_id);
  io.str(m.member_id);
  if (io.v >= 3) io.nstr(m.group_instance_id);
  io.array(m.assignments, [](auto& io2, SyncGroupRequest::Assignment& a) {
    io2.str(a.member_id);
    io2.bytes(a.assignment);
  });
}

struct SyncGroupResponse {
  static constexpr ApiKey kApiKey = ApiKey::sync_group;
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  ByteVec assignment;
};

template <class Io>
void serde(Io& io, SyncGroupResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
  io.bytes(m.assignment);
}

}  // namespace nocopy::kafka
