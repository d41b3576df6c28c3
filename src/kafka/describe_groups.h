// DescribeGroups (key 15), versions 0..2.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct DescribeGroupsRequest {
  static constexpr ApiKey kApiKey = ApiKey::describe_groups;
  std::vector<std::string> groups;
};

template <class Io>
void serde(Io& io, DescribeGroupsRequest& m) {
  io.array(m.groups, kStr);
}

struct DescribeGroupsResponse {
  static constexpr ApiKey kApiKey = ApiKey::describe_groups;
  struct Member {
    std::string member_id;
    std::string client_id;
    std::string client_host;
    ByteVec member_metadata;
    ByteVec member_assignment;
  };
  struct Group {
    std::int16_t error_code = 0;
    std::string group_id;
    std::string group_state;  // "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"
    std::string protocol_type;
    std::string protocol_data;  // the chosen protocol (assignor) name
    std::vector<Member> members;
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<Group> groups;
};

template <class Io>
void serde(Io& io, DescribeGroupsResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.array(m.groups, [](auto& io2, DescribeGroupsResponse::Group& g) {
    io2.i16(g.error_code);
    io2.str(g.group_id);
    io2.str(g.group_state);
    io2.str(g.protocol_type);
    io2.str(g.protocol_data);
    io2.array(g.members, [](auto& io3, DescribeGroupsResponse::Member& mm) {
      io3.str(mm.member_id);
      io3.str(mm.client_id);
      io3.str(mm.client_host);
      io3.bytes(mm.member_metadata);
      io3.bytes(mm.member_assignment);
    });
  });
}

}  // namespace nocopy::kafka
