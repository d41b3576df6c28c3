// CreatePartitions (key 37), versions 0..3; v2+ is flexible. `count` is the
// topic's new total partition count, not the number to add. Assignments
// (one broker-id list per new partition) may be null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct CreatePartitionsRequest {
  static constexpr ApiKey kApiKey = ApiKey::create_partitions;
  struct Assignment {
    std::vector<std::int32_t> broker_ids;
  };
  struct Topic {
    std::string name;
    std::int32_t count = 0;
    std::optional<std::vector<Assignment>> assignments;  // null = broker's choice
  };
  std::vector<Topic> topics;
  std::int32_t timeout_ms = 0;
  bool validate_only = false;
};

template <class Io>
void serde(Io& io, CreatePartitionsRequest& m) {
  io.array(m.topics, [](auto& io2, CreatePartitionsRequest::Topic& t) {
    io2.str(t.name);
    io2.i32(t.count);
    io2.narray(t.assignments, [](auto& io3, CreatePartitionsRequest::Assignment& a) {
      io3.array(a.broker_ids, kI32);
      io3.tags();
    });
    io2.tags();
  });
  io.i32(m.timeout_ms);
  io.boolean(m.validate_only);
  io.tags();
}

struct CreatePartitionsResponse {
  static constexpr ApiKey kApiKey = ApiKey::create_partitions;
  struct Result {
    std::string name;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
  };
  std::int32_t throttle_time_ms = 0;
  std::vector<Result> results;
};

template <class Io>
void serde(Io& io, CreatePartitionsResponse& m) {
  io.i32(m.throttle_time_ms);
  io.array(m.results, [](auto& io2, CreatePartitionsResponse::Result& r) {
    io2.str(r.name);
    io2.i16(r.error_code);
    io2.nstr(r.error_message);
    io2.tags();
  });
  io.tags();
}

}  // namespace nocopy::kafka
