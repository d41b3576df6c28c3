// Kafka RecordBatch v2: header parsing and validation, and a builder of valid
// uncompressed batches for tests and tools.
//
// On-disk == on-wire layout (all integers big-endian):
//
//   offset  field                  size    covered by CRC
//   ------  ---------------------  ------  --------------
//        0  baseOffset             int64   no  (patched by the log on append)
//        8  batchLength            int32   no  (bytes after this field)
//       12  partitionLeaderEpoch   int32   no
//       16  magic (= 2)            int8    no
//       17  crc (CRC-32C 21..end)  uint32  --
//       21  attributes             int16   yes (bits 0-2 codec, 3 LogAppendTime,
//                                               4 transactional, 5 control)
//       23  lastOffsetDelta        int32   yes
//       27  baseTimestamp          int64   yes
//       35  maxTimestamp           int64   yes
//       43  producerId             int64   yes
//       51  producerEpoch          int16   yes
//       53  baseSequence           int32   yes
//       57  recordsCount           int32   yes
//       61  records ...                    yes
//
// Record (uncompressed): varint length, int8 attributes, varlong
// timestampDelta, varint offsetDelta, varint keyLength (-1 = null), key,
// varint valueLength (-1 = null), value, varint headerCount, then per header
// varint keyLength, key, varint valueLength, value. Varints are zig-zag.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/log_error.h"

namespace nocopy::log {

inline constexpr std::size_t kBatchHeaderSize = 61;     // bytes before the first record
inline constexpr std::size_t kBatchLengthOffset = 8;
inline constexpr std::size_t kLogOverhead = 12;         // baseOffset + batchLength
inline constexpr std::size_t kCrcOffset = 17;
inline constexpr std::size_t kCrcCoveredFrom = 21;
inline constexpr std::int8_t kMagicV2 = 2;

// Big-endian helpers on raw bytes (no alignment requirement). Inline: the
// read path's header hops and index searches are made of these.
inline std::int64_t load_be64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return static_cast<std::int64_t>(std::byteswap(v));
}
inline std::int32_t load_be32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return static_cast<std::int32_t>(std::byteswap(v));
}
inline std::int16_t load_be16(const std::byte* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return static_cast<std::int16_t>(std::byteswap(v));
}
inline void store_be64(std::byte* p, std::int64_t v) noexcept {
  auto u = std::byteswap(static_cast<std::uint64_t>(v));
  std::memcpy(p, &u, 8);
}
inline void store_be32(std::byte* p, std::int32_t v) noexcept {
  auto u = std::byteswap(static_cast<std::uint32_t>(v));
  std::memcpy(p, &u, 4);
}
inline void store_be16(std::byte* p, std::int16_t v) noexcept {
  auto u = std::byteswap(static_cast<std::uint16_t>(v));
  std::memcpy(p, &u, 2);
}

// Every header field, by name. A value type; parse_batch_header() copies the
// 61 bytes' worth of fields out of the buffer.
struct BatchHeader {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = 0;
  std::int8_t magic = 0;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 0;
  std::int64_t max_timestamp = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int32_t records_count = 0;

  // Size of the whole batch on disk: 12 + batchLength.
  std::uint64_t total_size() const noexcept {
    return kLogOverhead + static_cast<std::uint64_t>(static_cast<std::uint32_t>(batch_length));
  }
  std::int64_t last_offset() const noexcept { return base_offset + last_offset_delta; }
  int compression() const noexcept { return attributes & 0x7; }
  bool is_transactional() const noexcept { return (attributes & 0x10) != 0; }
  bool is_control() const noexcept { return (attributes & 0x20) != 0; }
  bool log_append_time() const noexcept { return (attributes & 0x08) != 0; }
};

// Reads the header fields. Precondition: bytes.size() >= kBatchHeaderSize.
inline BatchHeader parse_batch_header(std::span<const std::byte> bytes) noexcept {
  const std::byte* p = bytes.data();
  BatchHeader h;
  h.base_offset = load_be64(p + 0);
  h.batch_length = load_be32(p + 8);
  h.partition_leader_epoch = load_be32(p + 12);
  h.magic = static_cast<std::int8_t>(p[16]);
  h.crc = static_cast<std::uint32_t>(load_be32(p + 17));
  h.attributes = load_be16(p + 21);
  h.last_offset_delta = load_be32(p + 23);
  h.base_timestamp = load_be64(p + 27);
  h.max_timestamp = load_be64(p + 35);
  h.producer_id = load_be64(p + 43);
  h.producer_epoch = load_be16(p + 51);
  h.base_sequence = load_be32(p + 53);
  h.records_count = load_be32(p + 57);
  return h;
}

// The length of the longest prefix of `bytes` made of whole batches, judged
// by the headers' batchLength alone (a fetch answer may end inside a batch,
// as Kafka's may; a batchLength <= 0 ends the prefix).
inline std::size_t whole_batches(std::span<const std::byte> bytes) noexcept {
  std::size_t pos = 0;
  while (pos + kBatchHeaderSize <= bytes.size()) {
    const BatchHeader h = parse_batch_header(bytes.subspan(pos));
    if (h.batch_length <= 0 || pos + h.total_size() > bytes.size()) break;
    pos += h.total_size();
  }
  return pos;
}

// Structural checks of one batch at the start of `bytes` (which may hold more
// after it): enough bytes for the header and the declared length, magic 2,
// batchLength large enough for a header, lastOffsetDelta + 1 == recordsCount,
// recordsCount >= 1, a whole batch (12 + batchLength) of at most `max_size`
// bytes (max.message.bytes; else message_too_large, checked before the CRC),
// and (when check_crc) the CRC-32C of bytes 21..end.
// Returns the header on success; `where` prefixes the error message.
// `exact_count` false (batches already in a log): recordsCount may be below
// lastOffsetDelta + 1, down to 0 -- a compacted batch keeps its offsets and
// drops records (an idempotent producer's last batch may keep none).
LogResult<BatchHeader> validate_batch(std::span<const std::byte> bytes, bool check_crc = true,
                                      std::string_view where = {},
                                      std::uint64_t max_size = UINT64_MAX, bool exact_count = true);

// Recomputes and stores the CRC of the batch occupying exactly `batch`.
void update_batch_crc(std::span<std::byte> batch) noexcept;

// Varints as Kafka encodes them (zig-zag, base-128 little-endian groups).
void append_varint(std::vector<std::byte>& out, std::int32_t v);
void append_varlong(std::vector<std::byte>& out, std::int64_t v);
// Decodes at `pos`, advancing it; nullopt on truncated/overlong input.
std::optional<std::int64_t> read_varlong(std::span<const std::byte> in, std::size_t& pos) noexcept;

struct RecordHeader {
  std::string key;
  std::optional<std::string> value;
};

struct Record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<RecordHeader> headers;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;  // filled by the builder / parser
};

// Builds one valid, uncompressed v2 batch (baseOffset 0 unless set).
//
//   auto batch = BatchBuilder().timestamp(1000).add("k", "v").add(std::nullopt, "v2").build();
class BatchBuilder {
 public:
  BatchBuilder& base_offset(std::int64_t v) { base_offset_ = v; return *this; }
  BatchBuilder& timestamp(std::int64_t base_ts) { base_timestamp_ = base_ts; return *this; }
  BatchBuilder& producer(std::int64_t id, std::int16_t epoch, std::int32_t base_sequence) {
    producer_id_ = id; producer_epoch_ = epoch; base_sequence_ = base_sequence; return *this;
  }
  BatchBuilder& attributes(std::int16_t a) { attributes_ = a; return *this; }
  BatchBuilder& leader_epoch(std::int32_t e) { leader_epoch_ = e; return *this; }

  // Adds a record whose timestamp is base timestamp + ts_delta.
  BatchBuilder& add(std::optional<std::string> key, std::optional<std::string> value,
                    std::vector<RecordHeader> headers = {}, std::int64_t ts_delta = 0);

  std::size_t record_count() const { return records_.size(); }
  // Precondition: at least one record was added.
  std::vector<std::byte> build() const;

 private:
  std::int64_t base_offset_ = 0;
  std::int64_t base_timestamp_ = 0;
  std::int64_t producer_id_ = -1;
  std::int16_t producer_epoch_ = -1;
  std::int32_t base_sequence_ = -1;
  std::int16_t attributes_ = 0;
  std::int32_t leader_epoch_ = -1;
  std::vector<Record> records_;
};

// Decodes the records of one uncompressed batch (for tests and tools).
// nullopt when compressed or malformed.
std::optional<std::vector<Record>> parse_records(std::span<const std::byte> batch);

}  // namespace nocopy::log
