// CreateTopics (key 19), versions 0..4. num_partitions / replication_factor
// of -1 mean "broker default" (v4+ clients send it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct CreateTopicsRequest {
  static constexpr ApiKey kApiKey = ApiKey::create_topics;
  struct Assignment {
    std::int32_t partition_index = 0;
    std::vector<std::int32_t> broker_ids;
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
  };
  struct Topic {
    std::string name;
    std::int32_t num_partitions = -1;
    std::int16_t replication_factor = -1;
    std::vector<Assignment> assignments;
    std::vector<Config> configs;
  };
  std::vector<Topic> topics;
  std::int32_t timeout_ms = 60000;
  bool validate_only = false;  // v1+
};

template <class Io>
void serde(Io& io, CreateTopicsRequest& m) {
  io.array(m.topics, [](auto& io2, CreateTopicsRequest::Topic& t) {
    io2.str(t.name);
    io2.i32(t.num_partitions);
    io2.i16(t.replication_factor);
    io2.array(t.assignments, [](auto& io3, CreateTopicsRequest::Assignment& a) {
      io3.i32(a.partition_index);
      io3.array(a.broker_ids, kI32);
    });
    io2.array(t.configs, [](auto& io3, CreateTopicsRequest::Config& c) {
      io3.str(c.name);
      io3.nstr(c.value);
    });
  });
  io.i32(m.timeout_ms);
  if (io.v >= 1) io.boolean(m.validate_only);
}

struct CreateTopicsResponse {
  static constexpr ApiKey kApiKey = ApiKey::create_topics;
  struct Result {
    std::string name;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;  // v1+
  };
  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<Result> topics;
};

template <class Io>
void serde(Io& io, CreateTopicsResponse& m) {
  if (io.v >= 2) io.i32(m.throttle_time_ms);
  io.array(m.topics, [](auto& io2, CreateTopicsResponse::Result& r) {
    io2.str(r.name);
    io2.i16(r.error_code);
    if (io2.v >= 1) io2.nstr(r.error_message);
  });
}

}  // namespace nocopy::kafka
