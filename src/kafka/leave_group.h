// LeaveGroup (key 13), versions 0..3. v0-2 name one member_id; v3+ carry a
// batch of members (kafkajs sends one). Decoding v0-2 also fills `members`
// with that single member so callers handle one shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct LeaveGroupRequest {
  static constexpr ApiKey kApiKey = ApiKey::leave_group;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
  };
  std::string group_id;
  std::string member_id;        // v0-2
  std::vector<Member> members;  // v3+ (and mirrored from member_id on v0-2 decode)
};

template <class Io>
void serde(Io& io, LeaveGroupRequest& m) {
  io.str(m.group_id);
  if (io.v <= 2) {
    io.str(m.member_id);
    if constexpr (Io::reading) m.members = {LeaveGroupRequest::Member{m.member_id, std::nullopt}};
  } else {
    io.array(m.members, [](auto& io2, LeaveGroupRequest::Member& mm) {
      io2.str(mm.member_id);
      io2.nstr(mm.group_instance_id);
    });
  }
}

struct LeaveGroupResponse {
  static constexpr ApiKey kApiKey = ApiKey::leave_group;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::int16_t error_code = 0;
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<Member> members;  // v3+
};

template <class Io>
void serde(Io& io, LeaveGroupResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
  if (io.v >= 3) {
    io.array(m.members, [](auto& io2, LeaveGroupResponse::Member& mm) {
      io2.str(mm.member_id);
      io2.nstr(mm.group_instance_id);
      io2.i16(mm.error_code);
    });
  }
}

}  // namespace nocopy::kafka
