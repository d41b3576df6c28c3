#include "broker/batch_decompressor.h"

#include <optional>

#include "kafka/reader.h"
#include "log/record_batch.h"
#include "log/record_codec.h"

namespace nocopy::broker {

std::optional<std::vector<std::byte>> BatchDecompressor::decompress_copy(int codec, std::span<const std::byte> data,
                                                                         std::size_t max_out) {
  return log::codec::decompress(codec, data, max_out);
}

std::optional<BatchDecompressor::RecordTime> BatchDecompressor::first_record_at_or_after(
    std::span<const std::byte> batch, std::int64_t ts, std::size_t max_out) {
  if (batch.size() < log::kBatchHeaderSize) return std::nullopt;
  const log::BatchHeader h = log::parse_batch_header(batch);
  if (h.magic != log::kMagicV2 || h.total_size() != batch.size()) return std::nullopt;
  if (h.log_append_time()) {
    if (h.max_timestamp >= ts) return RecordTime{h.base_offset, h.max_timestamp};
    return std::nullopt;
  }
  const auto body = batch.subspan(log::kBatchHeaderSize);
  std::optional<std::vector<std::byte>> owned;
  std::span<const std::byte> records = body;
  if (h.compression() != 0) {
    owned = decompress_copy(h.compression(), body, max_out);
    if (!owned) return std::nullopt;
    records = *owned;
  }
  // Record: varint length | int8 attributes | varlong timestampDelta |
  // varint offsetDelta | ... (the rest is skipped by length).
  kafka::Reader r(records);
  for (std::int32_t i = 0; i < h.records_count && r.remaining() > 0; ++i) {
    const std::int32_t len = r.varint();
    if (!r.ok() || len < 0 || static_cast<std::size_t>(len) > r.remaining()) return std::nullopt;
    kafka::Reader rec(r.raw(static_cast<std::size_t>(len)));
    rec.i8();
    const std::int64_t ts_delta = rec.varlong();
    const std::int32_t off_delta = rec.varint();
    if (!rec.ok()) return std::nullopt;
    if (h.base_timestamp + ts_delta >= ts) return RecordTime{h.base_offset + off_delta, h.base_timestamp + ts_delta};
  }
  return std::nullopt;
}

}  // namespace nocopy::broker
