// The compression codecs of RecordBatch v2 (attributes bits 0-2): the
// records section of a compressed batch, decompressed and compressed.
//
//   1 gzip    decompress: gzip or zlib framing; compress: gzip (as Kafka)
//   2 snappy  decompress: xerial framing (what the Java, librdkafka and
//             kafka-python producers write) or a raw block; compress: xerial
//             framing with 32 KiB blocks (as Kafka's SnappyOutputStream)
//   3 lz4     LZ4 frame (KIP-57)
//   4 zstd    one or more frames; compress: one frame, level 3
//
// Input is untrusted (whatever a producer sent, CRC-valid): decompress()
// bounds its output by `max_out` bytes (a decompression bomb stops there and
// fails) and never reads outside its input. Failures are nullopt, never
// exceptions. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace nocopy::log::codec {

inline constexpr int kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4;

// The decompressed bytes (codec 0: a copy of at most max_out bytes).
// nullopt: unknown codec, corrupt data, or more than max_out bytes.
std::optional<std::vector<std::byte>> decompress(int codec, std::span<const std::byte> data, std::size_t max_out);

// `data` compressed with `codec` (0: a copy); nullopt: unknown codec or a
// library failure.
std::optional<std::vector<std::byte>> compress(int codec, std::span<const std::byte> data);

}  // namespace nocopy::log::codec
