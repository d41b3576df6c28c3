#include "broker/record_validator.h"

#include <fmt/format.h>

#include <optional>

#include "broker/batch_decompressor.h"
#include "log/record_batch.h"

namespace nocopy::broker {

namespace {

using kafka::ErrorCode;

// Java's long arithmetic (wrapping), without C++'s overflow.
std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

// Kafka's test: now - ts > before, or ts - now > after (both bounds >= 0;
// the differences are exact in unsigned arithmetic).
bool out_of_range(std::int64_t ts, std::int64_t now, const RecordRules& r) {
  if (ts < now) return static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(ts) >
                       static_cast<std::uint64_t>(r.before_max_ms);
  return static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(now) > static_cast<std::uint64_t>(r.after_max_ms);
}

struct RecordView {
  std::int64_t timestamp_delta = 0;
  bool has_key = false;
};

// The records of `body` (a records section, decompressed), or nullopt when
// malformed (left to the log's checks).
std::optional<std::vector<RecordView>> scan(std::span<const std::byte> body, std::int32_t count) {
  std::vector<RecordView> out;
  std::size_t pos = 0;
  for (std::int32_t i = 0; i < count; ++i) {
    auto len = log::read_varlong(body, pos);
    if (!len || *len < 1 || static_cast<std::uint64_t>(*len) > body.size() - pos) return std::nullopt;
    const std::size_t end = pos + static_cast<std::size_t>(*len);
    ++pos;  // attributes
    auto ts = log::read_varlong(body.first(end), pos);
    auto od = log::read_varlong(body.first(end), pos);
    auto key = log::read_varlong(body.first(end), pos);
    if (!ts || !od || !key) return std::nullopt;
    out.push_back({*ts, *key >= 0});
    pos = end;
  }
  return out;
}

std::string invalid_record_message(const std::vector<RecordVerdict::Error>& errors) {
  std::string shown;
  for (std::size_t i = 0; i < errors.size() && i < 3; ++i)
    shown += fmt::format("{}RecordError(batchIndex={}, message='{}')", i ? ", " : "", errors[i].batch_index,
                         errors[i].message);
  return fmt::format(
      "One or more records have been rejected due to {} record errors in total, and only showing the first "
      "three errors at most: [{}]",
      errors.size(), shown);
}

}  // namespace

RecordVerdict validate_records(std::span<const std::byte> batch, const std::string& topic, std::int32_t partition,
                               const RecordRules& rules, std::int64_t now_ms) {
  RecordVerdict v;
  if (batch.size() < log::kBatchHeaderSize) return v;
  const log::BatchHeader h = log::parse_batch_header(batch);
  if (h.magic != log::kMagicV2 || h.total_size() != batch.size() || h.records_count < 1) return v;
  const bool check_time = rules.create_time && (rules.before_max_ms != INT64_MAX ||
                                                out_of_range(h.max_timestamp, now_ms, rules) ||
                                                out_of_range(h.base_timestamp, now_ms, rules));
  if (!rules.compacted && !check_time) return v;
  std::span<const std::byte> body = batch.subspan(log::kBatchHeaderSize);
  std::optional<std::vector<std::byte>> inflated;
  if (h.compression() != 0) {
    inflated = BatchDecompressor::decompress_copy(h.compression(), body, rules.max_out);  // COPY
    if (!inflated) return v;
    body = *inflated;
  }
  const auto records = scan(body, h.records_count);
  if (!records) return v;
  bool timestamp_error = false;
  for (std::size_t i = 0; i < records->size(); ++i) {
    const auto index = static_cast<std::int32_t>(i);
    const std::int64_t ts = wrap_add(h.base_timestamp, (*records)[i].timestamp_delta);
    if (rules.compacted && !(*records)[i].has_key) {
      v.errors.push_back({index, fmt::format("Compacted topic cannot accept message without key in topic "
                                             "partition {}-{}.",
                                             topic, partition)});
    } else if (check_time && out_of_range(ts, now_ms, rules)) {
      timestamp_error = true;
      v.errors.push_back({index, fmt::format("Timestamp {} of message with offset {} is out of range. The timestamp "
                                             "should be within [{}, {}]",
                                             ts, index, wrap_sub(now_ms, rules.before_max_ms),
                                             wrap_add(now_ms, rules.after_max_ms))});
    }
  }
  if (v.errors.empty()) return v;
  v.error = timestamp_error ? ErrorCode::invalid_timestamp : ErrorCode::invalid_record;
  v.message = timestamp_error ? "One or more records have been rejected due to invalid timestamp"
                              : invalid_record_message(v.errors);
  return v;
}

}  // namespace nocopy::broker
