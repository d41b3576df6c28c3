// InitProducerId (key 22), versions 0..1. Only idempotent producers here
// (transactional_id null); transactional ids get an error from the broker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct InitProducerIdRequest {
  static constexpr ApiKey kApiKey = ApiKey::init_producer_id;
  std::optional<std::string> transactional_id;
  std::int32_t transaction_timeout_ms = 0;
};

template <class Io>
void serde(Io& io, InitProducerIdRequest& m) {
  io.nstr(m.transactional_id);
  io.i32(m.transaction_timeout_ms);
}

struct InitProducerIdResponse {
  static constexpr ApiKey kApiKey = ApiKey::init_producer_id;
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
};

template <class Io>
void serde(Io& io, InitProducerIdResponse& m) {
  io.i32(m.throttle_time_ms);
  io.i16(m.error_code);
  io.i64(m.producer_id);
  io.i16(m.producer_epoch);
}

}  // namespace nocopy::kafka
