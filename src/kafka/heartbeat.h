// Heartbeat (key 12), versions 0..3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct HeartbeatRequest {
  static constexpr ApiKey kApiKey = ApiKey::heartbeat;
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
};

template <class Io>
void serde(Io& io, HeartbeatRequest& m) {
  io.str(m.group_id);
  io.i32(m.generation_id);
  io.str(m.member_id);
  if (io.v >= 3) io.nstr(m.group_instance_id);
}

struct HeartbeatResponse {
  static constexpr ApiKey kApiKey = ApiKey::heartbeat;
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
};

template <class Io>
void serde(Io& io, HeartbeatResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
}

}  // namespace nocopy::kafka
