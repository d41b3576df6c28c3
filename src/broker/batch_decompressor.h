// BatchDecompressor: reads the records inside a compressed RecordBatch v2 --
// for ListOffsets by timestamp, where Kafka answers the first *record*
// with timestamp >= the target, which for a compressed batch means looking
// inside it. The produce and fetch paths never decompress: batches pass
// through as the producer compressed them.
//
// (The log cleaner also decompresses, to compact the records of compressed
// batches.) The codecs are log/record_codec.h's: 1 gzip, 2 snappy (xerial
// framing or a raw block), 3 lz4 (LZ4 frame, KIP-57), 4 zstd.
//
// Input is untrusted (whatever a producer sent, CRC-valid): every function
// bounds its output by `max_out` bytes (a decompression bomb stops there and
// fails) and never reads outside its input. Failures are nullopt, never
// exceptions. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace nocopy::broker {

class BatchDecompressor {
 public:
  // The records section decompressed into a new buffer (a COPY, by
  // definition). nullopt: unknown codec, corrupt data, or more than max_out
  // bytes.
  static std::optional<std::vector<std::byte>> decompress_copy(int codec, std::span<const std::byte> data,
                                                               std::size_t max_out);

  // `batch`: one whole RecordBatch v2 (header + records, as stored). The
  // offset of its first record whose timestamp (baseTimestamp +
  // timestampDelta) is >= ts; nullopt when there is none, the batch is
  // malformed, or (compressed) it cannot be decompressed within max_out.
  // LogAppendTime batches: every record carries the batch's maxTimestamp.
  struct RecordTime {
    std::int64_t offset = -1;
    std::int64_t timestamp = -1;
  };
  // The same record with its timestamp.
  static std::optional<RecordTime> first_record_at_or_after(std::span<const std::byte> batch, std::int64_t ts,
                                                            std::size_t max_out);
  static std::optional<std::int64_t> first_offset_at_or_after(std::span<const std::byte> batch, std::int64_t ts,
                                                              std::size_t max_out) {
    auto r = first_record_at_or_after(batch, ts, max_out);
    return r ? std::optional<std::int64_t>(r->offset) : std::nullopt;
  }
};

}  // namespace nocopy::broker
