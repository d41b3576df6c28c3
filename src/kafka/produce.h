// Produce (key 0), advertised 0..7, served 3..7 (RecordBatch v2 only).
//
// Zero copy: a decoded request's PartitionData::records views the request
// buffer (RecordsRef::bytes); nothing is copied. The broker may patch
// baseOffset in place at `records.bytes.data() - frame.data()` of its own
// mutable copy of the frame. acks=0 requests get no response at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct ProduceRequest {
  static constexpr ApiKey kApiKey = ApiKey::produce;
  struct PartitionData {
    std::int32_t index = 0;
    RecordsRef records;
  };
  struct TopicData {
    std::string name;
    std::vector<PartitionData> partitions;
  };
  std::optional<std::string> transactional_id;  // v3+
  std::int16_t acks = -1;
  std::int32_t timeout_ms = 0;
  std::vector<TopicData> topics;
};

template <class Io>
void serde(Io& io, ProduceRequest& m) {
  if (io.v >= 3) io.nstr(m.transactional_id);
  io.i16(m.acks);
  io.i32(m.timeout_ms);
  io.array(m.topics, [](auto& io2, ProduceRequest::TopicData& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, ProduceRequest::PartitionData& p) {
      io3.i32(p.index);
      io3.records(p.records);
    });
  });
}

struct ProduceResponse {
  static constexpr ApiKey kApiKey = ApiKey::produce;
  struct PartitionResponse {
    std::int32_t index = 0;
    std::int16_t error_code = 0;
    std::int64_t base_offset = -1;
    std::int64_t log_append_time_ms = -1;  // v2+
    std::int64_t log_start_offset = -1;    // v5+
  };
  struct TopicResponse {
    std::string name;
    std::vector<PartitionResponse> partitions;
  };
  std::vector<TopicResponse> responses;
  std::int32_t throttle_time_ms = 0;  // v1+
};

template <class Io>
void serde(Io& io, ProduceResponse& m) {
  io.array(m.responses, [](auto& io2, ProduceResponse::TopicResponse& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, ProduceResponse::PartitionResponse& p) {
      io3.i32(p.index);
      io3.i16(p.error_code);
      io3.i64(p.base_offset);
      if (io3.v >= 2) io3.i64(p.log_append_time_ms);
      if (io3.v >= 5) io3.i64(p.log_start_offset);
    });
  });
  if (io.v >= 1) io.i32(m.throttle_time_ms);
}

}  // namespace nocopy::kafka
