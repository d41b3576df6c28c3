// Helpers for the broker unit tests: a temp data dir, file contents, raw
// request frames and zstd-compressed record batches.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kafka/writer.h"
#include "log/crc32c.h"
#include "log/record_batch.h"

namespace nocopy::broker::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("nocopy-broker-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The whole of the file at `p` ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `plain` with its records zstd-compressed (attributes codec 4, new CRC).
inline std::vector<std::byte> zstd_batch(const std::vector<std::byte>& plain) {
  std::vector<std::byte> zs(ZSTD_compressBound(plain.size()));
  auto len = ZSTD_compress(zs.data(), zs.size(), plain.data() + log::kBatchHeaderSize,
                           plain.size() - log::kBatchHeaderSize, 1);
  EXPECT_FALSE(ZSTD_isError(len));
  std::vector<std::byte> batch(log::kBatchHeaderSize + len);
  std::copy_n(plain.begin(), log::kBatchHeaderSize, batch.begin());
  std::copy_n(zs.begin(), len, batch.begin() + log::kBatchHeaderSize);
  log::store_be16(batch.data() + 21, 4);
  log::store_be32(batch.data() + 8, static_cast<std::int32_t>(batch.size() - log::kLogOverhead));
  log::store_be32(batch.data() + log::kCrcOffset,
                  static_cast<std::int32_t>(log::crc32c(std::span(batch).subspan(log::kCrcCoveredFrom))));
  return batch;
}

// A request frame without its size prefix: header v1 + body.
inline std::vector<std::byte> frame(std::int16_t api, std::int16_t version, std::int32_t corr,
                                    const std::vector<std::byte>& body) {
  kafka::Writer w;
  w.i16(api);
  w.i16(version);
  w.i32(corr);
  w.string("unit");
  w.raw(body);
  return w.take_buffer();
}

}  // namespace nocopy::broker::testing
