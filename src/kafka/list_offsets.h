// ListOffsets (key 2), versions 1..3. timestamp -2 = earliest, -1 = latest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

inline constexpr std::int64_t kEarliestTimestamp = -2;
inline constexpr std::int64_t kLatestTimestamp = -1;

struct ListOffsetsRequest {
  static constexpr ApiKey kApiKey = ApiKey::list_offsets;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t timestamp = 0;
    std::int32_t max_num_offsets = 1;  // v0 only
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::int32_t replica_id = -1;
  std::int8_t isolation_level = 0;  // v2+
  std::vector<Topic> topics;
};

template <class Io>
void serde(Io& io, ListOffsetsRequest& m) {
  io.i32(m.replica_id);
  if (io.v >= 2) io.i8(m.isolation_level);
  io.array(m.topics, [](auto& io2, ListOffsetsRequest::Topic& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, ListOffsetsRequest::Partition& p) {
      io3.i32(p.partition_index);
      io3.i64(p.timestamp);
      if (io3.v == 0) io3.i32(p.max_num_offsets);
    });
  });
}

struct ListOffsetsResponse {
  static constexpr ApiKey kApiKey = ApiKey::list_offsets;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::vector<std::int64_t> old_style_offsets;  // v0 only
    std::int64_t timestamp = -1;                  // v1+
    std::int64_t offset = -1;                     // v1+
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<Topic> topics;
};

template <class Io>
void serde(Io& io, ListOffsetsResponse& m) {
  if (io.v >= 2) io.i32(m.throttle_time_ms);
  io.array(m.topics, [](auto& io2, ListOffsetsResponse::Topic& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, ListOffsetsResponse::Partition& p) {
      io3.i32(p.partition_index);
      io3.i16(p.error_code);
      if (io3.v == 0) io3.array(p.old_style_offsets, kI64);
      if (io3.v >= 1) {
        io3.i64(p.timestamp);
        io3.i64(p.offset);
      }
    });
  });
}

}  // namespace nocopy::kafka
