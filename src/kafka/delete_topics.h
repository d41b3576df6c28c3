// DeleteTopics (key 20), versions 0..3.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct DeleteTopicsRequest {
  static constexpr ApiKey kApiKey = ApiKey::delete_topics;
  std::vector<std::string> topic_names;
  std::int32_t timeout_ms = 0;
};

template <class Io>
void serde(Io& io, DeleteTopicsRequest& m) {
  io.array(m.topic_names, kStr);
  io.i32(m.timeout_ms);
}

struct DeleteTopicsResponse {
  static constexpr ApiKey kApiKey = ApiKey::delete_topics;
  struct Result {
    std::string name;
    std::int16_t error_code = 0;
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<Result> responses;
};

template <class Io>
void serde(Io& io, DeleteTopicsResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.array(m.responses, [](auto& io2, DeleteTopicsResponse::Result& r) {
    io2.str(r.name);
    io2.i16(r.error_code);
  });
}

}  // namespace nocopy::kafka
