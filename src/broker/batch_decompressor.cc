#include "broker/batch_decompressor.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cstring>
#include <memory>

#include "kafka/reader.h"
#include "log/record_batch.h"

namespace nocopy::broker {

namespace {

using Out = std::vector<std::byte>;
constexpr std::size_t kChunk = 64 * 1024;

// Grows `out` by up to kChunk bytes (never past max_out); returns the new
// writable tail, empty when the cap is reached.
std::span<std::byte> grow(Out& out, std::size_t used, std::size_t max_out) {
  const std::size_t want = std::min(used + kChunk, max_out);
  if (want <= used) return {};
  out.resize(want);
  return std::span(out).subspan(used);
}

std::optional<Out> gunzip(std::span<const std::byte> in, std::size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return std::nullopt;  // +32: gzip or zlib header
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  Out out;
  std::size_t used = 0;
  for (;;) {
    auto tail = grow(out, used, max_out);
    if (tail.empty()) return std::nullopt;
    zs.next_out = reinterpret_cast<Bytef*>(tail.data());
    zs.avail_out = static_cast<uInt>(tail.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    used += tail.size() - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) return std::nullopt;  // incl. Z_BUF_ERROR: input ended mid-stream
  }
  out.resize(used);
  return out;
}

bool snappy_block(std::span<const std::byte> in, Out& out, std::size_t max_out) {
  const auto* src = reinterpret_cast<const char*>(in.data());
  std::size_t n = 0;
  if (!snappy::GetUncompressedLength(src, in.size(), &n)) return false;
  if (n > max_out - out.size()) return false;
  const std::size_t at = out.size();
  out.resize(at + n);
  return snappy::RawUncompress(src, in.size(), reinterpret_cast<char*>(out.data() + at));
}

std::optional<Out> unsnappy(std::span<const std::byte> in, std::size_t max_out) {
  // xerial framing: 8-byte magic, int32 version, int32 min compatible
  // version, then blocks of int32 (big endian) length + raw snappy block.
  static constexpr std::array<unsigned char, 8> kMagic{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  Out out;
  if (in.size() >= 16 && std::memcmp(in.data(), kMagic.data(), kMagic.size()) == 0) {
    std::size_t pos = 16;
    while (pos < in.size()) {
      if (in.size() - pos < 4) return std::nullopt;
      const auto len = static_cast<std::uint32_t>(log::load_be32(in.data() + pos));
      pos += 4;
      if (len > in.size() - pos) return std::nullopt;
      if (!snappy_block(in.subspan(pos, len), out, max_out)) return std::nullopt;
      pos += len;
    }
    return out;
  }
  if (!snappy_block(in, out, max_out)) return std::nullopt;
  return out;
}

std::optional<Out> unlz4(std::span<const std::byte> in, std::size_t max_out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return std::nullopt;
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> guard(ctx, &LZ4F_freeDecompressionContext);
  Out out;
  std::size_t used = 0;
  std::size_t pos = 0;
  for (;;) {
    auto tail = grow(out, used, max_out);
    if (tail.empty()) return std::nullopt;
    std::size_t dst = tail.size();
    std::size_t src = in.size() - pos;
    const std::size_t hint = LZ4F_decompress(ctx, tail.data(), &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(hint)) return std::nullopt;
    used += dst;
    pos += src;
    if (hint == 0) break;                            // frame complete
    if (pos == in.size() && dst == 0) return std::nullopt;  // input ended mid-frame
  }
  out.resize(used);
  return out;
}

std::optional<Out> unzstd(std::span<const std::byte> in, std::size_t max_out) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (ds == nullptr) return std::nullopt;
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> guard(ds, &ZSTD_freeDStream);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  Out out;
  std::size_t used = 0;
  std::size_t last = 1;
  while (ib.pos < ib.size || last != 0) {
    auto tail = grow(out, used, max_out);
    if (tail.empty()) return std::nullopt;
    ZSTD_outBuffer ob{tail.data(), tail.size(), 0};
    last = ZSTD_decompressStream(ds, &ob, &ib);
    if (ZSTD_isError(last)) return std::nullopt;
    used += ob.pos;
    if (ib.pos == ib.size && last != 0 && ob.pos < ob.size) return std::nullopt;  // truncated frame
  }
  out.resize(used);
  return out;
}

}  // namespace

std::optional<std::vector<std::byte>> BatchDecompressor::decompress_copy(int codec, std::span<const std::byte> data,
                                                                         std::size_t max_out) {
  switch (codec) {
    case 0: return std::vector<std::byte>(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(std::min(data.size(), max_out)));
    case 1: return gunzip(data, max_out);
    case 2: return unsnappy(data, max_out);
    case 3: return unlz4(data, max_out);
    case 4: return unzstd(data, max_out);
    default: return std::nullopt;
  }
}

std::optional<std::int64_t> BatchDecompressor::first_offset_at_or_after(std::span<const std::byte> batch,
                                                                        std::int64_t ts, std::size_t max_out) {
  if (batch.size() < log::kBatchHeaderSize) return std::nullopt;
  const log::BatchHeader h = log::parse_batch_header(batch);
  if (h.magic != log::kMagicV2 || h.total_size() != batch.size()) return std::nullopt;
  if (h.log_append_time()) {
    if (h.max_timestamp >= ts) return h.base_offset;
    return std::nullopt;
  }
  const auto body = batch.subspan(log::kBatchHeaderSize);
  std::optional<Out> owned;
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
    if (h.base_timestamp + ts_delta >= ts) return h.base_offset + off_delta;
  }
  return std::nullopt;
}

}  // namespace nocopy::broker
