#include "log/control_batch.h"

#include <string>

#include "log/record_batch.h"

namespace nocopy::log {

namespace {
std::string be16(std::int16_t v) {
  return {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
}
std::string be32(std::int32_t v) {
  return be16(static_cast<std::int16_t>(v >> 16)) + be16(static_cast<std::int16_t>(v & 0xffff));
}
}  // namespace

std::vector<std::byte> build_control_batch(std::int64_t producer_id, std::int16_t producer_epoch,
                                           ControlMarker marker, std::int64_t timestamp_ms) {
  const std::string key = be16(0) + be16(static_cast<std::int16_t>(marker.type));
  const std::string value = be16(0) + be32(marker.coordinator_epoch);
  return BatchBuilder()
      .timestamp(timestamp_ms)
      .producer(producer_id, producer_epoch, -1)
      .attributes(static_cast<std::int16_t>(kAttrTransactional | kAttrControl))
      .add(key, value)
      .build();
}

std::optional<ControlMarker> parse_control_batch(std::span<const std::byte> batch) {
  if (batch.size() < kBatchHeaderSize) return std::nullopt;
  const BatchHeader h = parse_batch_header(batch);
  if (!h.is_control() || h.compression() != 0 || h.total_size() > batch.size()) return std::nullopt;
  auto records = parse_records(batch.first(h.total_size()));
  if (!records || records->size() != 1) return std::nullopt;
  const auto& key = (*records)[0].key;
  if (!key || key->size() < 4) return std::nullopt;
  auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>((*key)[i]); };
  const auto type = static_cast<std::int16_t>((u8(2) << 8) | u8(3));
  if (type != 0 && type != 1) return std::nullopt;
  ControlMarker m;
  m.type = static_cast<ControlType>(type);
  const auto& value = (*records)[0].value;
  if (value && value->size() >= 6) {
    std::uint32_t e = 0;
    for (std::size_t i = 2; i < 6; ++i) e = (e << 8) | static_cast<std::uint8_t>((*value)[i]);
    m.coordinator_epoch = static_cast<std::int32_t>(e);
  }
  return m;
}

}  // namespace nocopy::log
