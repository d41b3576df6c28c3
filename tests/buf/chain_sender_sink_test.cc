// ChainSender::send_some(ByteSink&, Chain&): the TLS path. A fake sink that
// accepts a limited number of bytes per call and blocks now and then stands
// for a TLS session; one that can send files stands for kernel TLS.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "buf/chain_sender.h"
#include "io/byte_sink.h"
#include "test_util.h"

namespace nocopy::buf {
namespace {

using test::TempFile;

class FakeSink final : public io::ByteSink {
 public:
  FakeSink(std::size_t per_call, int block_every, bool files) : per_call_(per_call), block_every_(block_every), files_(files) {}

  io::Result<io::Progress> write(std::span<const std::byte> bytes) override {
    if (block_now()) return io::Progress{0, true};
    const std::size_t n = std::min(bytes.size(), per_call_);
    got.append(reinterpret_cast<const char*>(bytes.data()), n);
    return io::Progress{n, false};
  }
  bool can_send_file() const override { return files_; }
  io::Result<io::Progress> send_file(int fd, off_t offset, std::size_t length) override {
    if (block_now()) return io::Progress{0, true};
    std::string buf(std::min(length, per_call_), '\0');
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n <= 0) return io::fail(EIO, "pread");
    got.append(buf.data(), static_cast<std::size_t>(n));
    file_calls++;
    return io::Progress{static_cast<std::size_t>(n), false};
  }

  std::string got;
  int file_calls = 0;

 private:
  bool block_now() { return block_every_ > 0 && ++calls_ % block_every_ == 0; }
  std::size_t per_call_;
  int block_every_;
  bool files_;
  int calls_ = 0;
};

struct Built {
  Chain chain;
  std::string expect;
  std::uint64_t file_bytes = 0;
};

Built build(TempFile& f, const std::string& content) {
  Built b;
  b.chain.append(Buffer::copy_of(std::string_view("header-bytes")));
  b.chain.append(FileRegion{f.file, 100, 200'000});
  b.chain.append(Buffer::copy_of(std::string_view("mid")));
  b.chain.append(FileRegion{f.file, 7, 5});
  b.expect = "header-bytes" + content.substr(100, 200'000) + "mid" + content.substr(7, 5);
  b.file_bytes = 200'005;
  return b;
}

// Sends until the chain is empty, calling again after every would-block.
std::uint64_t drain(ChainSender& s, FakeSink& sink, Chain& c) {
  std::uint64_t total = 0;
  for (int i = 0; i < 100'000 && !c.empty(); ++i) {
    auto r = s.send_some(sink, c);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    if (!r) break;
    total += r->bytes;
  }
  return total;
}

TEST(ChainSenderSink, UserSpaceTlsReadsRegionsAndCountsThemCopied) {
  std::mt19937_64 rng(11);
  const std::string content = test::random_bytes(rng, 300'000);
  TempFile f(content);
  Built b = build(f, content);
  ChainSender sender;
  FakeSink sink(16 * 1024 + 3, 5, false);
  const std::uint64_t sent = drain(sender, sink, b.chain);
  EXPECT_TRUE(b.chain.empty());
  EXPECT_EQ(sink.got, b.expect);
  EXPECT_EQ(sent, b.expect.size());
  EXPECT_EQ(sender.counters().bytes_copied_user, b.expect.size());
  EXPECT_EQ(sender.counters().bytes_zero_copy, 0u);
}

TEST(ChainSenderSink, KernelTlsSendsRegionsWithoutCopy) {
  std::mt19937_64 rng(12);
  const std::string content = test::random_bytes(rng, 300'000);
  TempFile f(content);
  Built b = build(f, content);
  ChainSender sender;
  FakeSink sink(64 * 1024, 3, true);
  drain(sender, sink, b.chain);
  EXPECT_EQ(sink.got, b.expect);
  EXPECT_GT(sink.file_calls, 0);
  EXPECT_EQ(sender.counters().bytes_zero_copy, b.file_bytes);
  EXPECT_EQ(sender.counters().bytes_copied_user, b.expect.size() - b.file_bytes);
}

TEST(ChainSenderSink, RegionPastEndOfFileIsENODATA) {
  TempFile f(std::string(1000, 'x'));
  Chain c;
  c.append(FileRegion{f.file, 900, 500});
  ChainSender sender;
  FakeSink sink(1 << 20, 0, false);
  auto r = sender.send_some(sink, c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, ENODATA);
  EXPECT_EQ(sink.got, std::string(100, 'x'));  // the bytes that exist went out first
}

}  // namespace
}  // namespace nocopy::buf
