// BatchDecompressor: records inside gzip/snappy/lz4/zstd batches (built here
// with each library's own compressor), corrupt and truncated input, output
// caps, and ListOffsets by timestamp through the RequestHandler landing on a
// record inside a compressed batch.
#include <gtest/gtest.h>

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "broker/batch_decompressor.h"
#include "log/crc32c.h"
#include "log/record_batch.h"

namespace nocopy::broker {
namespace {

using Bytes = std::vector<std::byte>;

Bytes as_bytes(const std::string& s) {
  auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

Bytes gzip(std::span<const std::byte> in, bool gzip_header) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, gzip_header ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Bytes snappy_raw(std::span<const std::byte> in) {
  std::string out;
  snappy::Compress(reinterpret_cast<const char*>(in.data()), in.size(), &out);
  return as_bytes(out);
}

// xerial framing with blocks of at most `block` input bytes.
Bytes snappy_xerial(std::span<const std::byte> in, std::size_t block) {
  Bytes out = {std::byte{0x82}, std::byte{'S'}, std::byte{'N'}, std::byte{'A'}, std::byte{'P'}, std::byte{'P'},
               std::byte{'Y'}, std::byte{0},    std::byte{0},   std::byte{0},   std::byte{0},   std::byte{1},
               std::byte{0},    std::byte{0},   std::byte{0},   std::byte{1}};
  for (std::size_t pos = 0; pos < in.size(); pos += block) {
    Bytes b = snappy_raw(in.subspan(pos, std::min(block, in.size() - pos)));
    std::byte len[4];
    log::store_be32(len, static_cast<std::int32_t>(b.size()));
    out.insert(out.end(), len, len + 4);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

Bytes lz4(std::span<const std::byte> in) {
  Bytes out(LZ4F_compressFrameBound(in.size(), nullptr));
  auto n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

Bytes zstd(std::span<const std::byte> in) {
  Bytes out(ZSTD_compressBound(in.size()));
  auto n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

Bytes compress(int codec, std::span<const std::byte> in) {
  switch (codec) {
    case 1: return gzip(in, true);
    case 2: return snappy_xerial(in, 100);
    case 3: return lz4(in);
    case 4: return zstd(in);
  }
  return {in.begin(), in.end()};
}

// n records, record i stamped base_ts + 10 * i; compressed with `codec`
// (header rewritten: attributes, batchLength, CRC).
Bytes batch(int codec, int n, std::int64_t base_ts = 1000000) {
  log::BatchBuilder b;
  b.timestamp(base_ts);
  for (int i = 0; i < n; ++i)
    b.add("key-" + std::to_string(i), std::string(50 + i % 7, static_cast<char>('a' + i % 26)), {}, 10 * i);
  Bytes plain = b.build();
  if (codec == 0) return plain;
  Bytes recs = compress(codec, std::span(plain).subspan(log::kBatchHeaderSize));
  Bytes out(log::kBatchHeaderSize + recs.size());
  std::copy_n(plain.begin(), log::kBatchHeaderSize, out.begin());
  std::copy(recs.begin(), recs.end(), out.begin() + log::kBatchHeaderSize);
  log::store_be16(out.data() + 21, static_cast<std::int16_t>(codec));
  log::store_be32(out.data() + 8, static_cast<std::int32_t>(out.size() - log::kLogOverhead));
  log::store_be32(out.data() + log::kCrcOffset,
                  static_cast<std::int32_t>(log::crc32c(std::span(out).subspan(log::kCrcCoveredFrom))));
  return out;
}

class Codecs : public ::testing::TestWithParam<int> {};

TEST_P(Codecs, FindsTheFirstRecordAtOrAfterTheTimestamp) {
  const int codec = GetParam();
  Bytes b = batch(codec, 200);
  EXPECT_EQ(log::parse_batch_header(b).compression(), codec);
  constexpr std::size_t kCap = 1 << 20;
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 0, kCap), 0);
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 1000000, kCap), 0);
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 1000001, kCap), 1);
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 1000375, kCap), 38);
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 1001990, kCap), 199);
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 1001991, kCap), std::nullopt);
  // base_offset is honoured.
  log::store_be64(b.data(), 5000);
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 1000375, kCap), 5038);
}

TEST_P(Codecs, CorruptTruncatedAndOversizedInputFails) {
  const int codec = GetParam();
  Bytes b = batch(codec, 200);
  const auto body = std::span<const std::byte>(b).subspan(log::kBatchHeaderSize);
  auto full = BatchDecompressor::decompress_copy(codec, body, 1 << 20);
  ASSERT_TRUE(full.has_value());
  Bytes plain = batch(0, 200);
  EXPECT_EQ(*full, Bytes(plain.begin() + log::kBatchHeaderSize, plain.end()));
  // The output cap: one byte short fails.
  EXPECT_FALSE(BatchDecompressor::decompress_copy(codec, body, full->size() - 1).has_value());
  EXPECT_TRUE(BatchDecompressor::decompress_copy(codec, body, full->size()).has_value());
  // Every truncation either fails or (never) yields the full records.
  for (std::size_t cut = 0; cut < body.size(); cut += 1 + body.size() / 97) {
    auto t = BatchDecompressor::decompress_copy(codec, body.first(cut), 1 << 20);
    EXPECT_TRUE(!t || t->size() < full->size()) << "cut " << cut;
  }
  // Flipped bytes never crash; the answer is some offset of the batch or none.
  for (std::size_t i = 0; i < body.size(); i += 3) {
    Bytes m = b;
    m[log::kBatchHeaderSize + i] ^= std::byte{0x5a};
    auto r = BatchDecompressor::first_offset_at_or_after(m, 1000375, 1 << 20);
    if (r) {
      EXPECT_LT(*r, 1 << 20);
    }
  }
}

std::string codec_name(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, Codecs, ::testing::Values(1, 2, 3, 4), codec_name);

TEST(BatchDecompressor, OtherFramingsAndUnknownCodecs) {
  Bytes plain = batch(0, 30);
  auto recs = std::span<const std::byte>(plain).subspan(log::kBatchHeaderSize);
  Bytes expect(recs.begin(), recs.end());
  EXPECT_EQ(BatchDecompressor::decompress_copy(1, gzip(recs, false), 1 << 20), expect);  // zlib framing
  EXPECT_EQ(BatchDecompressor::decompress_copy(2, snappy_raw(recs), 1 << 20), expect);   // unframed snappy
  Bytes two = zstd(recs.first(100));
  Bytes second = zstd(recs.subspan(100));
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(BatchDecompressor::decompress_copy(4, two, 1 << 20), expect);  // two zstd frames
  EXPECT_FALSE(BatchDecompressor::decompress_copy(5, recs, 1 << 20).has_value());
  EXPECT_FALSE(BatchDecompressor::decompress_copy(7, recs, 1 << 20).has_value());
  for (int codec = 1; codec <= 4; ++codec) {
    EXPECT_FALSE(BatchDecompressor::decompress_copy(codec, {}, 1 << 20).has_value()) << codec;
    EXPECT_FALSE(BatchDecompressor::decompress_copy(codec, recs, 1 << 20).has_value()) << codec;  // not compressed
  }
  // A header that does not match the bytes.
  Bytes b = batch(4, 30);
  EXPECT_FALSE(BatchDecompressor::first_offset_at_or_after(std::span(b).first(b.size() - 1), 0, 1 << 20));
  EXPECT_FALSE(BatchDecompressor::first_offset_at_or_after(std::span(b).first(40), 0, 1 << 20));
}

// A seeded mutation fuzzer in the unit suite (the libFuzzer build uses
// clang-14, which cannot compile the log layer's <expected>): record
// sections are mutated BEFORE compression, so the record parser behind each
// codec sees well-compressed garbage (varints, lengths, counts), and the
// compressed streams are mutated after it. Under ASan+UBSan (CI) any
// out-of-bounds read or UB fails; everywhere, answers must be deterministic
// and decompressions must respect their cap.
TEST(BatchDecompressor, SeededMutationsNeverCrashAndRespectTheCap) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kRounds = 4000;
#else
  constexpr int kRounds = 10000;
#endif
  std::uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto rnd = [&seed](std::uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return n == 0 ? 0 : seed % n;
  };
  const Bytes plain = batch(0, 40);
  int answered = 0;
  for (int round = 0; round < kRounds; ++round) {
    const int codec = 1 + static_cast<int>(rnd(4));
    Bytes recs(plain.begin() + log::kBatchHeaderSize, plain.end());
    const int edits = 1 + static_cast<int>(rnd(8));
    for (int e = 0; e < edits && !recs.empty(); ++e) {
      switch (rnd(5)) {
        case 0: recs[rnd(recs.size())] ^= static_cast<std::byte>(1 + rnd(255)); break;
        case 1: recs.resize(rnd(recs.size())); break;
        case 2: recs.insert(recs.begin() + static_cast<std::ptrdiff_t>(rnd(recs.size())), static_cast<std::byte>(rnd(256))); break;
        case 3: recs[rnd(recs.size())] = std::byte{0xff}; break;  // huge varint continuation
        default: recs[rnd(recs.size())] = std::byte{0x01}; break;  // -1 lengths (zig-zag)
      }
    }
    Bytes comp = compress(codec, recs);
    if (rnd(3) == 0 && !comp.empty()) comp[rnd(comp.size())] ^= static_cast<std::byte>(1 + rnd(255));
    if (rnd(5) == 0) comp.resize(rnd(comp.size() + 1));
    const std::size_t cap = rnd(2) ? (1 << 20) : rnd(recs.size() + 64);
    auto d1 = BatchDecompressor::decompress_copy(codec, comp, cap);
    if (d1) {
      EXPECT_LE(d1->size(), cap) << "round " << round;
    }
    EXPECT_EQ(d1, BatchDecompressor::decompress_copy(codec, comp, cap)) << "round " << round;

    Bytes b(log::kBatchHeaderSize + comp.size());
    std::copy_n(plain.begin(), log::kBatchHeaderSize, b.begin());
    std::copy(comp.begin(), comp.end(), b.begin() + log::kBatchHeaderSize);
    log::store_be16(b.data() + 21, static_cast<std::int16_t>(codec | (rnd(4) == 0 ? 0x08 : 0)));
    log::store_be32(b.data() + 8, static_cast<std::int32_t>(b.size() - log::kLogOverhead));
    if (rnd(4) == 0) log::store_be32(b.data() + 57, static_cast<std::int32_t>(rnd(1u << 31)));  // recordsCount
    const std::int64_t ts = 1000000 + static_cast<std::int64_t>(rnd(600)) - 100;
    auto r1 = BatchDecompressor::first_offset_at_or_after(b, ts, cap);
    EXPECT_EQ(r1, BatchDecompressor::first_offset_at_or_after(b, ts, cap)) << "round " << round;
    if (r1) ++answered;
  }
  // The mutations are not so destructive that nothing parses any more.
  EXPECT_GT(answered, kRounds / 20);
  RecordProperty("answered", answered);
}

TEST(BatchDecompressor, LogAppendTimeBatchesUseMaxTimestamp) {
  Bytes b = batch(4, 30);
  log::store_be16(b.data() + 21, static_cast<std::int16_t>(4 | 0x08));
  log::store_be64(b.data() + 35, 5000000);  // maxTimestamp
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 4999999, 1 << 20), 0);
  EXPECT_EQ(BatchDecompressor::first_offset_at_or_after(b, 5000001, 1 << 20), std::nullopt);
}

}  // namespace
}  // namespace nocopy::broker
