// OffsetDelete (key 47), version 0 (not flexible): delete a group's
// committed offsets for some partitions. The top-level error_code is for the
// group (GROUP_ID_NOT_FOUND, ...); per-partition codes say why one offset
// was kept (GROUP_SUBSCRIBED_TO_TOPIC while a member consumes the topic).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct OffsetDeleteRequest {
  static constexpr ApiKey kApiKey = ApiKey::offset_delete;
  struct Topic {
    std::string name;
    std::vector<std::int32_t> partitions;
  };
  std::string group_id;
  std::vector<Topic> topics;
};

template <class Io>
void serde(Io& io, OffsetDeleteRequest& m) {
  io.str(m.group_id);
  io.array(m.topics, [](auto& io2, OffsetDeleteRequest::Topic& t) {
    io2.str(t.name);
    io2.array(t.partitions, kI32);
  });
}

struct OffsetDeleteResponse {
  static constexpr ApiKey kApiKey = ApiKey::offset_delete;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::int16_t error_code = 0;
  std::int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
};

template <class Io>
void serde(Io& io, OffsetDeleteResponse& m) {
  io.i16(m.error_code);
  io.i32(m.throttle_time_ms);
  io.array(m.topics, [](auto& io2, OffsetDeleteResponse::Topic& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, OffsetDeleteResponse::Partition& p) {
      io3.i32(p.partition_index);
      io3.i16(p.error_code);
    });
  });
}

}  // namespace nocopy::kafka
