// FindCoordinator (key 10), versions 0..2. key_type 0 = group, 1 = transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct FindCoordinatorRequest {
  static constexpr ApiKey kApiKey = ApiKey::find_coordinator;
  std::string key;
  std::int8_t key_type = 0;  // v1+
};

template <class Io>
void serde(Io& io, FindCoordinatorRequest& m) {
  io.str(m.key);
  if (io.v >= 1) io.i8(m.key_type);
}

struct FindCoordinatorResponse {
  static constexpr ApiKey kApiKey = ApiKey::find_coordinator;
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;  // v1+
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
};

template <class Io>
void serde(Io& io, FindCoordinatorResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
  if (io.v >= 1) io.nstr(m.error_message);
  io.i32(m.node_id);
  io.str(m.host);
  io.i32(m.port);
}

}  // namespace nocopy::kafka
