// Log compaction of compressed batches: their records are compacted like
// any others and the retained ones re-compressed with the batch's codec
// (gzip, snappy, lz4, zstd); a batch that cannot be decompressed fails the
// clean with an error naming it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cleaner_test_util.h"
#include "log/log_cleaner.h"
#include "log/partition_log.h"
#include "log/record_codec.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::TempDir;
using namespace cleaner_test;
using Ops = std::vector<std::pair<std::string, std::optional<std::string>>>;

// `batch` (uncompressed, whole) with its records compressed by `codec`.
std::vector<std::byte> compressed(const std::vector<std::byte>& batch, int codec) {
  const auto body = std::span<const std::byte>(batch).subspan(kBatchHeaderSize);
  auto packed = codec::compress(codec, body);
  EXPECT_TRUE(packed.has_value());
  std::vector<std::byte> out(batch.begin(), batch.begin() + kBatchHeaderSize);
  out.insert(out.end(), packed->begin(), packed->end());
  store_be32(out.data() + kBatchLengthOffset, static_cast<std::int32_t>(out.size() - kLogOverhead));
  store_be16(out.data() + 21, static_cast<std::int16_t>(load_be16(out.data() + 21) | codec));
  update_batch_crc(out);
  return out;
}

struct Seen {
  std::vector<Rec> recs;
  std::map<int, int> batches_by_codec;
};

// Every record of the log, decompressing compressed batches; checks CRCs.
Seen read_decompressed(const PartitionLog& log) {
  Seen out;
  for (const auto& s : log.sealed_segments()) {
    auto r = log.read(s->base_offset(), s->committed().size);
    EXPECT_TRUE(r.has_value());
    if (!r) continue;
    const std::vector<std::byte> bytes = test::read_regions(r->regions);
    std::size_t pos = 0;
    while (bytes.size() - pos >= kBatchHeaderSize) {
      auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos), true, {}, UINT64_MAX, false);
      EXPECT_TRUE(h.has_value());
      if (!h || h->base_offset >= log.sealed_segments().back()->committed().next_offset) break;
      std::vector<std::byte> plain(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                                   bytes.begin() + static_cast<std::ptrdiff_t>(pos + kBatchHeaderSize));
      auto body = std::span<const std::byte>(bytes).subspan(pos + kBatchHeaderSize, h->total_size() - kBatchHeaderSize);
      auto records = codec::decompress(h->compression(), body, 1 << 24);
      EXPECT_TRUE(records.has_value()) << "batch at " << h->base_offset;
      if (!records) break;
      plain.insert(plain.end(), records->begin(), records->end());
      store_be32(plain.data() + kBatchLengthOffset, static_cast<std::int32_t>(plain.size() - kLogOverhead));
      store_be16(plain.data() + 21, static_cast<std::int16_t>(h->attributes & ~0x7));
      auto recs = parse_records(plain);
      EXPECT_TRUE(recs.has_value()) << "batch at " << h->base_offset;
      if (!recs) break;
      ++out.batches_by_codec[h->compression()];
      for (const Record& rec : *recs)
        out.recs.push_back({h->base_offset + rec.offset_delta, rec.key, rec.value, h->base_timestamp + rec.timestamp_delta});
      pos += h->total_size();
    }
  }
  return out;
}

class LogCleanerCodec : public ::testing::TestWithParam<int> {};

TEST_P(LogCleanerCodec, CompressedBatchesAreCompactedAndRecompressedWithTheirCodec) {
  const int codec = GetParam();
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  std::map<std::string, Last> model;
  std::mt19937_64 rng(codec);
  for (int i = 0; i < 1'500; ++i) {
    ++now;
    Ops ops;
    for (int j = 0; j < 10; ++j) {
      std::optional<std::string> v;
      if (rng() % 10 != 0) v = "value-" + std::to_string(i) + "-" + std::to_string(rng());
      ops.emplace_back("key-" + std::to_string(rng() % 400), v);
    }
    auto b = compressed(batch_of(ops, now), codec);
    auto info = log->append(b);
    ASSERT_TRUE(info.has_value()) << info.error().message;
    for (int j = 0; j < 10; ++j) model[ops[j].first] = {info->base_offset + j, ops[j].second, now};
  }
  ASSERT_TRUE(log->roll().has_value());
  ASSERT_GT(log->sealed_segments().size(), 2u);
  const std::size_t records_before = read_decompressed(*log).recs.size();

  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  cfg.delete_retention_ms = 0;  // every tombstone but the last batch's is past it
  auto st = LogCleaner::clean(*log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_GT(st->batches_recompressed, 0u);
  EXPECT_GT(st->tombstones_dropped, 0u);

  Seen seen = read_decompressed(*log);
  EXPECT_LT(seen.recs.size(), records_before);
  EXPECT_EQ(seen.batches_by_codec.size(), 1u);
  EXPECT_GT(seen.batches_by_codec[codec], 0);
  std::map<std::string, Rec> latest;
  std::int64_t prev = -1;
  for (const Rec& r : seen.recs) {
    ASSERT_GT(r.offset, prev);
    prev = r.offset;
    ASSERT_TRUE(latest.emplace(*r.key, r).second) << "key " << *r.key << " appears twice";
  }
  for (const auto& [k, last] : model) {
    auto it = latest.find(k);
    if (!last.value && last.ts < now - cfg.delete_retention_ms) {
      EXPECT_EQ(it, latest.end()) << k;
      continue;
    }
    ASSERT_NE(it, latest.end()) << k;
    EXPECT_EQ(it->second.offset, last.offset) << k;
    EXPECT_EQ(it->second.value, last.value) << k;
  }
  // Reopened after a crash: every cleaned segment passes recovery's checks.
  reopen_after_crash(log, dir, &now);
}

INSTANTIATE_TEST_SUITE_P(Codecs, LogCleanerCodec,
                         ::testing::Values(codec::kGzip, codec::kSnappy, codec::kLz4, codec::kZstd),
                         [](const auto& info) {
                           switch (info.param) {
                             case codec::kGzip: return std::string("gzip");
                             case codec::kSnappy: return std::string("snappy");
                             case codec::kLz4: return std::string("lz4");
                             default: return std::string("zstd");
                           }
                         });

TEST(LogCleanerCodecErrors, ABatchThatCannotBeDecompressedFailsTheCleanNamingIt) {
  TempDir dir(test::memory_dir());
  std::int64_t now = 1'000'000;
  auto log = PartitionLog::open(dir.path(), small_config(&now));
  auto good = batch_of({{"a", "1"}, {"a", "2"}}, now);
  ASSERT_TRUE(log->append(good).has_value());
  // A zstd batch whose records are not zstd (a valid CRC over garbage).
  auto bad = batch_of({{"b", "1"}, {"b", "2"}}, now);
  store_be16(bad.data() + 21, static_cast<std::int16_t>(codec::kZstd));
  update_batch_crc(bad);
  auto info = log->append(bad);
  ASSERT_TRUE(info.has_value());
  ASSERT_TRUE(log->roll().has_value());
  CleanerConfig cfg;
  cfg.clock = [&] { return now; };
  auto st = LogCleaner::clean(*log, cfg);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().kind, LogErrc::corrupt_message);
  EXPECT_NE(st.error().message.find("offset " + std::to_string(info->base_offset) + " cannot be decompressed"),
            std::string::npos)
      << st.error().message;
}

}  // namespace
}  // namespace nocopy::log
