#include "log/record_batch.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "log/crc32c.h"

namespace nocopy::log {

static_assert(std::endian::native == std::endian::little, "nocopy assumes a little-endian host");

namespace {

// validate_batch's failure path, out of line: names the first check that
// fails (the CRC is computed again).
[[gnu::cold, gnu::noinline]] LogResult<BatchHeader> batch_invalid(std::span<const std::byte> bytes, bool check_crc,
                                                                  std::string_view where, std::uint64_t max_size,
                                                                  bool exact_count) {
  auto err = [&](LogErrc k, std::string msg) {
    return log_fail(k, where.empty() ? msg : fmt::format("{}: {}", where, msg));
  };
  if (bytes.size() < kBatchHeaderSize) {
    return err(LogErrc::corrupt_message,
               fmt::format("truncated batch header ({} of {} bytes)", bytes.size(), kBatchHeaderSize));
  }
  BatchHeader h = parse_batch_header(bytes);
  if (h.magic != kMagicV2) {
    return err(LogErrc::invalid_record, fmt::format("magic {} is not 2 (only RecordBatch v2)", h.magic));
  }
  if (h.batch_length < static_cast<std::int32_t>(kBatchHeaderSize - kLogOverhead)) {
    return err(LogErrc::corrupt_message,
               fmt::format("batchLength {} is smaller than a batch header ({})", h.batch_length,
                           kBatchHeaderSize - kLogOverhead));
  }
  if (h.total_size() > bytes.size()) {
    return err(LogErrc::corrupt_message,
               fmt::format("batchLength {} runs past the end of the data ({} bytes left)",
                           h.batch_length, bytes.size() - kLogOverhead));
  }
  if (h.records_count < (exact_count ? 1 : 0)) {
    return err(LogErrc::invalid_record, fmt::format("recordsCount {} < {}", h.records_count, exact_count ? 1 : 0));
  }
  if (exact_count ? static_cast<std::int64_t>(h.last_offset_delta) + 1 != h.records_count
                  : static_cast<std::int64_t>(h.last_offset_delta) + 1 < h.records_count) {
    return err(LogErrc::invalid_record,
               fmt::format("lastOffsetDelta {} + 1 {} recordsCount {}", h.last_offset_delta,
                           exact_count ? "!=" : "<", h.records_count));
  }
  if (h.total_size() > max_size) {
    return err(LogErrc::message_too_large,
               fmt::format("{} bytes exceed max_message_bytes {}", h.total_size(), max_size));
  }
  if (check_crc) {
    const std::uint32_t computed = crc32c(bytes.subspan(kCrcCoveredFrom, h.total_size() - kCrcCoveredFrom));
    if (computed != h.crc) {
      return err(LogErrc::corrupt_message,
                 fmt::format("CRC mismatch (stored {:#010x}, computed {:#010x})", h.crc, computed));
    }
  }
  return err(LogErrc::corrupt_message, "batch_invalid called on a valid batch");
}

}  // namespace

LogResult<BatchHeader> validate_batch(std::span<const std::byte> bytes, bool check_crc, std::string_view where,
                                      std::uint64_t max_size, bool exact_count) {
  // The checks in one branch; the messages are built only on failure.
  if (bytes.size() >= kBatchHeaderSize) [[likely]] {
    const BatchHeader h = parse_batch_header(bytes);
    if (h.magic == kMagicV2 && h.batch_length >= static_cast<std::int32_t>(kBatchHeaderSize - kLogOverhead) &&
        h.total_size() <= bytes.size() && h.total_size() <= max_size && (h.records_count >= 1 || (!exact_count && h.records_count == 0)) &&
        (static_cast<std::int64_t>(h.last_offset_delta) + 1 == h.records_count ||
         (!exact_count && static_cast<std::int64_t>(h.last_offset_delta) + 1 > h.records_count))) [[likely]] {
      if (!check_crc || crc32c(bytes.subspan(kCrcCoveredFrom, h.total_size() - kCrcCoveredFrom)) == h.crc) [[likely]] {
        return h;
      }
    }
  }
  return batch_invalid(bytes, check_crc, where, max_size, exact_count);
}

void update_batch_crc(std::span<std::byte> batch) noexcept {
  std::uint32_t c = crc32c(std::span<const std::byte>(batch).subspan(kCrcCoveredFrom));
  store_be32(batch.data() + kCrcOffset, static_cast<std::int32_t>(c));
}

namespace {
void append_unsigned_varint(std::vector<std::byte>& out, std::uint64_t u) {
  while (u >= 0x80) {
    out.push_back(static_cast<std::byte>((u & 0x7F) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<std::byte>(u));
}
void append_bytes(std::vector<std::byte>& out, const std::optional<std::string>& s) {
  if (!s) {
    append_varint(out, -1);
    return;
  }
  append_varint(out, static_cast<std::int32_t>(s->size()));
  auto p = reinterpret_cast<const std::byte*>(s->data());
  out.insert(out.end(), p, p + s->size());
}
}  // namespace

void append_varint(std::vector<std::byte>& out, std::int32_t v) {
  auto z = (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
  append_unsigned_varint(out, z);
}
void append_varlong(std::vector<std::byte>& out, std::int64_t v) {
  auto z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  append_unsigned_varint(out, z);
}

std::optional<std::int64_t> read_varlong(std::span<const std::byte> in, std::size_t& pos) noexcept {
  std::uint64_t u = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos >= in.size()) return std::nullopt;
    auto b = static_cast<std::uint8_t>(in[pos++]);
    u |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  return std::nullopt;
}

BatchBuilder& BatchBuilder::add(std::optional<std::string> key, std::optional<std::string> value,
                                std::vector<RecordHeader> headers, std::int64_t ts_delta) {
  Record r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.headers = std::move(headers);
  r.timestamp_delta = ts_delta;
  r.offset_delta = static_cast<std::int32_t>(records_.size());
  records_.push_back(std::move(r));
  return *this;
}

std::vector<std::byte> BatchBuilder::build() const {
  std::vector<std::byte> out(kBatchHeaderSize);
  std::int64_t max_ts = base_timestamp_;
  std::vector<std::byte> rec;
  for (const Record& r : records_) {
    rec.clear();
    rec.push_back(std::byte{0});  // attributes
    append_varlong(rec, r.timestamp_delta);
    append_varint(rec, r.offset_delta);
    append_bytes(rec, r.key);
    append_bytes(rec, r.value);
    append_varint(rec, static_cast<std::int32_t>(r.headers.size()));
    for (const RecordHeader& h : r.headers) {
      append_bytes(rec, h.key);
      append_bytes(rec, h.value);
    }
    append_varint(out, static_cast<std::int32_t>(rec.size()));
    out.insert(out.end(), rec.begin(), rec.end());
    max_ts = std::max(max_ts, base_timestamp_ + r.timestamp_delta);
  }
  std::byte* p = out.data();
  store_be64(p + 0, base_offset_);
  store_be32(p + 8, static_cast<std::int32_t>(out.size() - kLogOverhead));
  store_be32(p + 12, leader_epoch_);
  p[16] = static_cast<std::byte>(kMagicV2);
  store_be16(p + 21, attributes_);
  store_be32(p + 23, static_cast<std::int32_t>(records_.size()) - 1);
  store_be64(p + 27, base_timestamp_);
  store_be64(p + 35, max_ts);
  store_be64(p + 43, producer_id_);
  store_be16(p + 51, producer_epoch_);
  store_be32(p + 53, base_sequence_);
  store_be32(p + 57, static_cast<std::int32_t>(records_.size()));
  update_batch_crc(out);
  return out;
}

std::optional<std::vector<Record>> parse_records(std::span<const std::byte> batch) {
  if (batch.size() < kBatchHeaderSize) return std::nullopt;
  BatchHeader h = parse_batch_header(batch);
  if (h.compression() != 0 || h.total_size() > batch.size()) return std::nullopt;
  auto body = batch.subspan(0, h.total_size());
  std::size_t pos = kBatchHeaderSize;
  auto read_bytes = [&](std::optional<std::string>& dst) -> bool {
    auto len = read_varlong(body, pos);
    if (!len) return false;
    if (*len < 0) {
      dst.reset();
      return true;
    }
    if (static_cast<std::uint64_t>(*len) > body.size() - pos) return false;
    dst.emplace(reinterpret_cast<const char*>(body.data() + pos), static_cast<std::size_t>(*len));
    pos += static_cast<std::size_t>(*len);
    return true;
  };
  std::vector<Record> out;
  for (std::int32_t i = 0; i < h.records_count; ++i) {
    auto len = read_varlong(body, pos);
    if (!len || *len < 1 || static_cast<std::uint64_t>(*len) > body.size() - pos) return std::nullopt;
    std::size_t end = pos + static_cast<std::size_t>(*len);
    ++pos;  // attributes
    Record r;
    auto tsd = read_varlong(body, pos);
    auto od = read_varlong(body, pos);
    if (!tsd || !od) return std::nullopt;
    r.timestamp_delta = *tsd;
    r.offset_delta = static_cast<std::int32_t>(*od);
    if (!read_bytes(r.key) || !read_bytes(r.value)) return std::nullopt;
    auto nh = read_varlong(body, pos);
    if (!nh || *nh < 0) return std::nullopt;
    for (std::int64_t j = 0; j < *nh; ++j) {
      std::optional<std::string> k;
      RecordHeader hd;
      if (!read_bytes(k) || !k || !read_bytes(hd.value)) return std::nullopt;
      hd.key = std::move(*k);
      r.headers.push_back(std::move(hd));
    }
    if (pos != end) return std::nullopt;
    out.push_back(std::move(r));
  }
  if (pos != body.size()) return std::nullopt;
  return out;
}

}  // namespace nocopy::log
