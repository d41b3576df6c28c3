// A test of one Partition, "t-0", in a temporary data dir.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "broker/config.h"
#include "broker/metrics.h"
#include "broker/partition.h"
#include "broker_test_util.h"

namespace nocopy::broker::testing {

class PartitionTest : public ::testing::Test {
 protected:
  PartitionTest() { cfg.data_dir = dir.path(); }
  // The partition as `cfg` now says, over whatever `pdir` holds.
  std::unique_ptr<Partition> open() { return std::make_unique<Partition>("t", 0, pdir, cfg, &metrics); }

  TempDir dir;
  Config cfg;
  Metrics metrics{io::Strategy::sendfile};
  const std::filesystem::path pdir = dir.path() / "t-0";
};

}  // namespace nocopy::broker::testing
