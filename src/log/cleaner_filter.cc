#include "log/cleaner_filter.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "log/record_codec.h"

namespace nocopy::log {

bool split_records(std::span<const std::byte> in, std::int32_t count, std::vector<RecordView>& out) {
  out.clear();
  std::size_t pos = 0;
  for (std::int32_t i = 0; i < count; ++i) {
    const std::size_t start = pos;
    auto len = read_varlong(in, pos);
    if (!len || *len < 1 || static_cast<std::uint64_t>(*len) > in.size() - pos) return false;
    const std::size_t end = pos + static_cast<std::size_t>(*len);
    std::span<const std::byte> body = in.subspan(0, end);
    RecordView r;
    r.bytes = in.subspan(start, end - start);
    std::size_t p = pos + 1;  // attributes
    auto ts = read_varlong(body, p);
    auto od = read_varlong(body, p);
    auto kl = read_varlong(body, p);
    if (!ts || !od || !kl || p > end) return false;
    r.timestamp_delta = *ts;
    r.offset_delta = static_cast<std::int32_t>(*od);
    if (*kl >= 0) {
      if (static_cast<std::uint64_t>(*kl) > end - p) return false;
      r.has_key = true;
      r.key = std::string_view(reinterpret_cast<const char*>(body.data() + p), static_cast<std::size_t>(*kl));
      p += static_cast<std::size_t>(*kl);
    }
    auto vl = read_varlong(body, p);
    if (!vl) return false;
    r.tombstone = *vl < 0;
    out.push_back(r);
    pos = end;
  }
  return pos == in.size();
}

bool BatchFilter::keeps(const BatchHeader& h, const RecordView& r, std::int64_t& ts) {
  const std::int64_t offset = h.base_offset + r.offset_delta;
  ts = h.log_append_time() ? h.max_timestamp : h.base_timestamp + r.timestamp_delta;
  if (!r.has_key) return true;
  if (auto latest = rules_.map->get(r.key); latest && *latest != offset) return false;
  if (r.tombstone && ts < rules_.tombstone_horizon) {
    ++counts_.tombstones_dropped;
    return false;
  }
  return true;
}

LogResult<std::span<const std::byte>> records_section(const BatchHeader& h, std::span<const std::byte> batch,
                                                      std::vector<std::byte>& buf, std::size_t max_out) {
  std::span<const std::byte> body = batch.subspan(kBatchHeaderSize);
  if (h.compression() == codec::kNone) return body;
  auto plain = codec::decompress(h.compression(), body, max_out);
  if (!plain) {
    return log_fail(LogErrc::corrupt_message,
                    fmt::format("cleaner: the batch at offset {} cannot be decompressed (codec {}, {} bytes; at most "
                                "{} bytes decompressed)",
                                h.base_offset, h.compression(), body.size(), max_out));
  }
  buf = std::move(*plain);
  return std::span<const std::byte>(buf);
}

AbortedRanges::AbortedRanges(std::span<const AbortedTxn> txns) {
  for (const AbortedTxn& t : txns) by_producer_[t.producer_id].emplace_back(t.first_offset, t.last_offset);
  for (auto& [id, ranges] : by_producer_) std::sort(ranges.begin(), ranges.end());
}

bool AbortedRanges::contains(std::int64_t producer_id, std::int64_t offset) const {
  auto it = by_producer_.find(producer_id);
  if (it == by_producer_.end()) return false;
  const auto& ranges = it->second;
  auto after = std::upper_bound(ranges.begin(), ranges.end(), std::make_pair(offset, INT64_MAX));
  if (after == ranges.begin()) return false;
  return offset <= std::prev(after)->second;
}

void BatchFilter::keep_whole(const BatchHeader& h, std::span<const std::byte> batch, std::vector<std::byte>& out) {
  out.insert(out.end(), batch.begin(), batch.end());
  counts_.records_kept += static_cast<std::uint64_t>(h.records_count);
  ++counts_.batches_kept_whole;
}

bool BatchFilter::marker(const BatchHeader& h, std::span<const std::byte> batch, bool keep,
                         std::vector<std::byte>& out) {
  bool data_left = false;
  if (auto it = open_txns_.find(h.producer_id); it != open_txns_.end()) {
    data_left = it->second;
    open_txns_.erase(it);
  }
  if (keep || data_left || h.max_timestamp >= rules_.tombstone_horizon) {
    keep_whole(h, batch, out);
    return false;
  }
  ++counts_.markers_dropped;
  return true;
}

LogResult<bool> BatchFilter::filter(const BatchHeader& h, std::span<const std::byte> batch, bool keep,
                                    std::vector<std::byte>& out) {
  counts_.records_read += static_cast<std::uint64_t>(h.records_count);
  if (h.base_offset >= rules_.end) {
    keep_whole(h, batch, out);
    return false;
  }
  if (h.is_control()) return marker(h, batch, keep, out);
  const bool txn = h.is_transactional() && h.producer_id >= 0;
  if (txn && rules_.aborted && rules_.aborted->contains(h.producer_id, h.base_offset)) {
    counts_.aborted_records_dropped += static_cast<std::uint64_t>(h.records_count);
    if (keep) write_empty(h, batch, out);
    return true;
  }
  const std::uint64_t kept_before = counts_.records_kept;
  LogResult<bool> changed = records_filtered(h, batch, keep, out);
  if (!changed) return changed;
  if (txn) open_txns_[h.producer_id] |= counts_.records_kept > kept_before;
  return changed;
}

void BatchFilter::write_empty(const BatchHeader& h, std::span<const std::byte> batch, std::vector<std::byte>& out) {
  const std::size_t start = out.size();
  out.insert(out.end(), batch.begin(), batch.begin() + kBatchHeaderSize);
  std::byte* p = out.data() + start;
  store_be32(p + kBatchLengthOffset, static_cast<std::int32_t>(kBatchHeaderSize - kLogOverhead));
  store_be16(p + 21, static_cast<std::int16_t>(h.attributes & ~0x7));  // no records, no codec
  store_be32(p + 57, 0);
  update_batch_crc(std::span<std::byte>(p, kBatchHeaderSize));
  ++counts_.empty_batches_kept;
}

LogResult<bool> BatchFilter::records_filtered(const BatchHeader& h, std::span<const std::byte> batch,
                                              bool retain_empty, std::vector<std::byte>& out) {
  auto records = records_section(h, batch, plain_, rules_.max_decompressed_bytes);
  if (!records) return std::unexpected(records.error());
  if (!split_records(*records, h.records_count, recs_)) {
    return log_fail(LogErrc::corrupt_message,
                    fmt::format("cleaner: malformed records in the batch at offset {}", h.base_offset));
  }
  kept_.clear();
  std::int32_t kept = 0;
  std::int64_t max_ts = -1;
  for (const RecordView& r : recs_) {
    std::int64_t ts = 0;
    if (!keeps(h, r, ts)) continue;
    kept_.insert(kept_.end(), r.bytes.begin(), r.bytes.end());
    ++kept;
    max_ts = std::max(max_ts, ts);
  }
  counts_.records_kept += static_cast<std::uint64_t>(kept);
  if (kept == 0) {
    if (retain_empty) write_empty(h, batch, out);
    return true;
  }
  if (kept == h.records_count) {  // nothing dropped: the original bytes as they were
    out.insert(out.end(), batch.begin(), batch.end());
    return false;
  }
  if (auto r = rebatch(h, batch, kept, max_ts, out); !r) return std::unexpected(r.error());
  return true;
}

LogResult<void> BatchFilter::rebatch(const BatchHeader& h, std::span<const std::byte> batch, std::int32_t kept,
                                     std::int64_t max_ts, std::vector<std::byte>& out) {
  std::optional<std::vector<std::byte>> packed;
  std::span<const std::byte> records = kept_;
  if (h.compression() != codec::kNone) {
    packed = codec::compress(h.compression(), kept_);
    if (!packed) {
      return log_fail(LogErrc::storage_error,
                      fmt::format("cleaner: compressing the retained records of the batch at offset {} (codec {}) "
                                  "failed",
                                  h.base_offset, h.compression()));
    }
    records = *packed;
    ++counts_.batches_recompressed;
  }
  const std::size_t start = out.size();
  out.insert(out.end(), batch.begin(), batch.begin() + kBatchHeaderSize);
  out.insert(out.end(), records.begin(), records.end());
  std::byte* p = out.data() + start;
  store_be32(p + kBatchLengthOffset, static_cast<std::int32_t>(out.size() - start - kLogOverhead));
  if (!h.log_append_time()) store_be64(p + 35, max_ts);
  store_be32(p + 57, kept);
  update_batch_crc(std::span<std::byte>(p, out.size() - start));
  return {};
}

}  // namespace nocopy::log
