// net::ChainOutbound: what it asks of the Connection (cork, memory, the
// zero-copy sender whose completions must be reaped).
#include "net/chain_outbound.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "buf/chain.h"
#include "buf/chain_sender.h"
#include "io/file.h"
#include "io/transfer.h"

namespace nocopy::net {
namespace {

class ChainOutboundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("nocopy-chainout-" + std::to_string(::getpid()));
    std::ofstream(path_, std::ios::binary) << std::string(256 * 1024, 'x');
    file_ = std::make_shared<const io::File>(io::File::open(path_));
  }
  void TearDown() override { std::filesystem::remove(path_); }

  buf::Chain response(std::uint64_t body) {
    buf::Chain c;
    c.append(buf::Buffer::copy_of(std::string_view("HTTP/1.1 200 OK\r\n\r\n")));
    c.append(buf::FileRegion{file_, 0, body});
    return c;
  }

  std::filesystem::path path_;
  std::shared_ptr<const io::File> file_;
};

TEST_F(ChainOutboundTest, CorksOnlyBodiesLargerThanTheThreshold) {
  buf::ChainSender sender(buf::ChainSenderOptions{});
  // A small body goes out in one file send after a MSG_MORE header: no cork.
  EXPECT_FALSE(ChainOutbound(response(4096), sender).wants_cork());
  EXPECT_FALSE(ChainOutbound(response(ChainOutbound::kCorkMinFileBytes), sender).wants_cork());
  EXPECT_TRUE(ChainOutbound(response(ChainOutbound::kCorkMinFileBytes + 1), sender).wants_cork());
  // A body alone (no header to hold back) is never corked.
  buf::Chain body_only;
  body_only.append(buf::FileRegion{file_, 0, 200 * 1024});
  EXPECT_FALSE(ChainOutbound(std::move(body_only), sender).wants_cork());
  // Memory counts against backpressure, file regions do not.
  EXPECT_EQ(ChainOutbound(response(4096), sender).memory_bytes(), std::string_view("HTTP/1.1 200 OK\r\n\r\n").size());
}

TEST_F(ChainOutboundTest, NamesTheSenderOnlyForStrategiesWithCompletions) {
  for (io::Strategy s : io::socket_strategies()) {
    buf::ChainSenderOptions o;
    o.strategy = s;
    buf::ChainSender sender(o);
    ChainOutbound out(response(4096), sender);
    if (s == io::Strategy::msg_zerocopy || s == io::Strategy::uring_send_zc) {
      EXPECT_EQ(out.zero_copy_sender(), &sender.file_sender()) << io::to_string(s);
    } else {
      EXPECT_EQ(out.zero_copy_sender(), nullptr) << io::to_string(s);
    }
  }
}

}  // namespace
}  // namespace nocopy::net
