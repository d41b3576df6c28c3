// Helpers for the broker unit tests: a temp data dir and raw request frames.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "kafka/writer.h"

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
