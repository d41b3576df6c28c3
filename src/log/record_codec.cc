#include "log/record_codec.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "log/record_batch.h"

namespace nocopy::log::codec {

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
      const auto len = static_cast<std::uint32_t>(load_be32(in.data() + pos));
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


// --- compression ----------------------------------------------------------

std::optional<Out> gzip(std::span<const std::byte> in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&zs, &deflateEnd);
  Out out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) return std::nullopt;
  out.resize(zs.total_out);
  return out;
}

std::optional<Out> snappy_xerial(std::span<const std::byte> in) {
  static constexpr std::array<unsigned char, 16> kHeader{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  constexpr std::size_t kBlock = 32 * 1024;
  Out out(kHeader.size());
  std::memcpy(out.data(), kHeader.data(), kHeader.size());
  std::string block;
  for (std::size_t pos = 0; pos < in.size(); pos += kBlock) {
    const std::size_t n = std::min(kBlock, in.size() - pos);
    block.clear();
    snappy::Compress(reinterpret_cast<const char*>(in.data() + pos), n, &block);
    const std::size_t at = out.size();
    out.resize(at + 4 + block.size());
    store_be32(out.data() + at, static_cast<std::int32_t>(block.size()));
    std::memcpy(out.data() + at + 4, block.data(), block.size());
  }
  return out;
}

std::optional<Out> lz4(std::span<const std::byte> in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  Out out(LZ4F_compressFrameBound(in.size(), &prefs));
  const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return std::nullopt;
  out.resize(n);
  return out;
}

std::optional<Out> zstd(std::span<const std::byte> in) {
  Out out(ZSTD_compressBound(in.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) return std::nullopt;
  out.resize(n);
  return out;
}

}  // namespace

std::optional<std::vector<std::byte>> decompress(int codec, std::span<const std::byte> data, std::size_t max_out) {
  switch (codec) {
    case kNone:
      return std::vector<std::byte>(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(std::min(data.size(), max_out)));
    case kGzip: return gunzip(data, max_out);
    case kSnappy: return unsnappy(data, max_out);
    case kLz4: return unlz4(data, max_out);
    case kZstd: return unzstd(data, max_out);
    default: return std::nullopt;
  }
}

std::optional<std::vector<std::byte>> compress(int codec, std::span<const std::byte> data) {
  switch (codec) {
    case kNone: return std::vector<std::byte>(data.begin(), data.end());
    case kGzip: return gzip(data);
    case kSnappy: return snappy_xerial(data);
    case kLz4: return lz4(data);
    case kZstd: return zstd(data);
    default: return std::nullopt;
  }
}

}  // namespace nocopy::log::codec
