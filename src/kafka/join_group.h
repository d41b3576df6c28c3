// JoinGroup (key 11), versions 0..5. v4+: a first join with an empty
// member_id is answered MEMBER_ID_REQUIRED (79) carrying the assigned id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct JoinGroupRequest {
  static constexpr ApiKey kApiKey = ApiKey::join_group;
  struct Protocol {
    std::string name;
    ByteVec metadata;
  };
  std::string group_id;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;  // v1+; v0: = session timeout
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::string protocol_type;
  std::vector<Protocol> protocols;
};

template <class Io>
void serde(Io& io, JoinGroupRequest& m) {
  io.str(m.group_id);
  io.i32(m.session_timeout_ms);
  if (io.v >= 1) io.i32(m.rebalance_timeout_ms);
  else if constexpr (Io::reading) m.rebalance_timeout_ms = m.session_timeout_ms;
  io.str(m.member_id);
  if (io.v >= 5) io.nstr(m.group_instance_id);
  io.str(m.protocol_type);
  io.array(m.protocols, [](auto& io2, JoinGroupRequest::Protocol& p) {
    io2.str(p.name);
    io2.bytes(p.metadata);
  });
}

struct JoinGroupResponse {
  static constexpr ApiKey kApiKey = ApiKey::join_group;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    ByteVec metadata;
  };
  std::int32_t throttle_time_ms = 0;  // v2+
  std::int16_t error_code = 0;
  std::int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<Member> members;  // non-empty only for the leader
};

template <class Io>
void serde(Io& io, JoinGroupResponse& m) {
  if (io.v >= 2) io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
  io.i32(m.generation_id);
  io.str(m.protocol_name);
  io.str(m.leader);
  io.str(m.member_id);
  io.array(m.members, [](auto& io2, JoinGroupResponse::Member& mm) {
    io2.str(mm.member_id);
    if (io2.v >= 5) io2.nstr(mm.group_instance_id);
    io2.bytes(mm.metadata);
  });
}

}  // namespace nocopy::kafka
