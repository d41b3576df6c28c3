// OffsetFetch (key 9), versions 1..7 (v6+ flexible; v7 require_stable, which
// read_committed consumers set: offsets pending in an open transaction are
// never visible here, so the answer is always stable). topics null (v2+) =
// all committed partitions of the group. Nothing committed: offset -1, error 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct OffsetFetchRequest {
  static constexpr ApiKey kApiKey = ApiKey::offset_fetch;
  struct Topic {
    std::string name;
    std::vector<std::int32_t> partition_indexes;
  };
  std::string group_id;
  std::optional<std::vector<Topic>> topics = std::vector<Topic>{};  // null (v2+) = all
  bool require_stable = false;  // v7+
};

template <class Io>
void serde(Io& io, OffsetFetchRequest& m) {
  io.str(m.group_id);
  auto topic = [](auto& io2, OffsetFetchRequest::Topic& t) {
    io2.str(t.name);
    io2.array(t.partition_indexes, kI32);
    io2.tags();
  };
  if (io.v >= 2) {
    io.narray(m.topics, topic);
  } else if constexpr (Io::reading) {
    m.topics.emplace();
    io.array(*m.topics, topic);
  } else {
    std::vector<OffsetFetchRequest::Topic> none;
    io.array(m.topics ? *m.topics : none, topic);
  }
  if (io.v >= 7) io.boolean(m.require_stable);
  io.tags();
}

struct OffsetFetchResponse {
  static constexpr ApiKey kApiKey = ApiKey::offset_fetch;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = -1;
    std::int32_t committed_leader_epoch = -1;  // v5+
    std::optional<std::string> metadata;
    std::int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;
  std::int16_t error_code = 0;  // v2+
};

template <class Io>
void serde(Io& io, OffsetFetchResponse& m) {
  if (io.v >= 3) io.i32(m.throttle_time_ms);
  io.array(m.topics, [](auto& io2, OffsetFetchResponse::Topic& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, OffsetFetchResponse::Partition& p) {
      io3.i32(p.partition_index);
      io3.i64(p.committed_offset);
      if (io3.v >= 5) io3.i32(p.committed_leader_epoch);
      io3.nstr(p.metadata);
      io3.i16(p.error_code);
      io3.tags();
    });
    io2.tags();
  });
  if (io.v >= 2) io.i16(m.error_code);
  io.tags();
}

}  // namespace nocopy::kafka
