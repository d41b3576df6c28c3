// The parameterized PartitionLog test fixture (pwrite and mmap write modes)
// shared by partition_log_test.cc and partition_log_append_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "log/partition_log.h"
#include "log_test_util.h"

namespace nocopy::log::test {


class PartitionLogTest : public ::testing::TestWithParam<WriteMode> {
 protected:
  LogConfig config() const {
    LogConfig c;
    c.write_mode = GetParam();
    c.segment_bytes = 64 * 1024;
    c.index_interval_bytes = 1024;
    return c;
  }
  // Flush every append (group commit, default commit delay), segments big
  // enough for the concurrent-appender tests.
  LogConfig every_append_config(std::uint64_t segment_bytes = 1 << 20) const {
    LogConfig c = config();
    c.segment_bytes = segment_bytes;
    c.flush.mode = FlushPolicy::Mode::every_append;
    return c;
  }
  TempDir dir_;
};

inline std::vector<std::byte> patched(std::vector<std::byte> b, std::int64_t base) {
  store_be64(b.data(), base);
  return b;
}

}  // namespace nocopy::log::test
