// OffsetCommit (key 8), versions 2..7.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct OffsetCommitRequest {
  static constexpr ApiKey kApiKey = ApiKey::offset_commit;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = 0;
    std::int32_t committed_leader_epoch = -1;  // v6+
    std::int64_t commit_timestamp = -1;        // v1 only
    std::optional<std::string> committed_metadata;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::string group_id;
  std::int32_t generation_id = -1;               // v1+
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  std::int64_t retention_time_ms = -1;           // v2-4
  std::vector<Topic> topics;
};

template <class Io>
void serde(Io& io, OffsetCommitRequest& m) {
  io.str(m.group_id);
  if (io.v >= 1) {
    io.i32(m.generation_id);
    io.str(m.member_id);
  }
  if (io.v >= 7) io.nstr(m.group_instance_id);
  if (io.v >= 2 && io.v <= 4) io.i64(m.retention_time_ms);
  io.array(m.topics, [](auto& io2, OffsetCommitRequest::Topic& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, OffsetCommitRequest::Partition& p) {
      io3.i32(p.partition_index);
      io3.i64(p.committed_offset);
      if (io3.v >= 6) io3.i32(p.committed_leader_epoch);
      if (io3.v == 1) io3.i64(p.commit_timestamp);
      io3.nstr(p.committed_metadata);
    });
  });
}

struct OffsetCommitResponse {
  static constexpr ApiKey kApiKey = ApiKey::offset_commit;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;
};

template <class Io>
void serde(Io& io, OffsetCommitResponse& m) {
  if (io.v >= 3) io.i32(m.throttle_time_ms);
  io.array(m.topics, [](auto& io2, OffsetCommitResponse::Topic& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, OffsetCommitResponse::Partition& p) {
      io3.i32(p.partition_index);
      io3.i16(p.error_code);
    });
  });
}

}  // namespace nocopy::kafka
