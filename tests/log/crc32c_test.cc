#include "log/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace nocopy::log {
namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_software(bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(bytes("")), 0u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros and of 0xFF.
  std::vector<std::byte> zeros(32, std::byte{0}), ones(32, std::byte{0xFF}), inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<std::byte>(i);
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(crc32c_software(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c_software(inc), 0x46DD794Eu);
}

TEST(Crc32c, CombineEqualsTheChecksumOfTheConcatenation) {
  std::mt19937_64 rng(7);
  std::vector<std::byte> data(200000);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  for (std::size_t len_b : {0u, 1u, 7u, 61u, 4096u, 65537u, 199000u}) {
    const std::size_t len_a = rng() % 1000;
    auto all = std::span<const std::byte>(data).first(len_a + len_b);
    EXPECT_EQ(crc32c_combine(crc32c(all.first(len_a)), crc32c(all.subspan(len_a)), len_b), crc32c(all))
        << "len_a=" << len_a << " len_b=" << len_b;
  }
  // A changed 40-byte header: the new checksum from the old one and the two
  // headers' checksums, without the 100 KB behind them.
  std::vector<std::byte> batch(data.begin(), data.begin() + 100040);
  const std::uint32_t old_crc = crc32c(batch);
  const std::uint32_t old_head = crc32c(std::span<const std::byte>(batch).first(40));
  batch[3] ^= std::byte{0x08};
  batch[20] = std::byte{0x42};
  const std::uint32_t new_head = crc32c(std::span<const std::byte>(batch).first(40));
  EXPECT_EQ(old_crc ^ crc32c_combine(old_head ^ new_head, 0, 100000), crc32c(batch));
}

TEST(Crc32c, HardwareMatchesSoftwareOnRandomData) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(42);
  std::vector<std::byte> data(70000);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  for (int i = 0; i < 300; ++i) {
    std::size_t off = rng() % 64;
    std::size_t len = rng() % (data.size() - off);
    auto s = std::span<const std::byte>(data).subspan(off, len);
    ASSERT_EQ(crc32c_hardware(s), crc32c_software(s)) << "off=" << off << " len=" << len;
  }
}

// Every length around the thresholds (3 * 64 bytes for the sized 3-way round,
// 3 * 8192 for the fixed rounds; for the fused fold + crc32 rounds 7936
// where they start and 27200 for the longest round), at every alignment
// mod 8, for every implementation this CPU has.
TEST(Crc32c, HardwareVariantsMatchSoftwareAtEveryLengthNearThresholds) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::vector<Crc32cImpl> impls;
  for (Crc32cImpl i : {Crc32cImpl::sse42_tables, Crc32cImpl::sse42_clmul, Crc32cImpl::vpclmul_fold}) {
    if (crc32c_supported(i)) impls.push_back(i);
  }
  std::mt19937_64 rng(7);
  std::vector<std::byte> data(2 * 27200 + 512);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 1100; ++n) lengths.push_back(n);
  for (std::size_t base : {4096, 7936, 2 * 7936, 3 * 8192, 27200, 2 * 3 * 8192, 2 * 27200}) {
    for (std::size_t n = base - 40; n <= base + 40; ++n) lengths.push_back(n);
  }
  for (std::size_t n = 16300; n <= 16400; ++n) lengths.push_back(n);
  for (std::size_t n : lengths) {
    for (std::size_t off = 0; off < 8; ++off) {
      auto s = std::span<const std::byte>(data).subspan(off, n);
      const std::uint32_t want = crc32c_software(s, 0x12345678u);
      ASSERT_EQ(crc32c_hardware(s, 0x12345678u), want) << "off=" << off << " len=" << n;
      for (Crc32cImpl impl : impls) {
        ASSERT_EQ(crc32c_with(impl, s, 0x12345678u), want)
            << "impl=" << static_cast<int>(impl) << " off=" << off << " len=" << n;
      }
    }
  }
}

TEST(Crc32c, EveryImplementationMatchesSoftwareOnRandomData) {
  std::mt19937_64 rng(43);
  std::vector<std::byte> data(70000);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  for (Crc32cImpl impl : {Crc32cImpl::sse42_tables, Crc32cImpl::sse42_clmul, Crc32cImpl::vpclmul_fold}) {
    if (!crc32c_supported(impl)) continue;
    for (int i = 0; i < 300; ++i) {
      std::size_t off = rng() % 64;
      std::size_t len = rng() % (data.size() - off);
      auto crc = static_cast<std::uint32_t>(rng());
      auto s = std::span<const std::byte>(data).subspan(off, len);
      ASSERT_EQ(crc32c_with(impl, s, crc), crc32c_software(s, crc))
          << "impl=" << static_cast<int>(impl) << " off=" << off << " len=" << len;
    }
  }
  EXPECT_TRUE(crc32c_supported(Crc32cImpl::software));
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  std::string_view s = "the quick brown fox jumps over the lazy dog, twice over";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    std::uint32_t a = crc32c(bytes(s.substr(0, cut)));
    EXPECT_EQ(crc32c(bytes(s.substr(cut)), a), crc32c(bytes(s)));
    EXPECT_EQ(crc32c_software(bytes(s.substr(cut)), crc32c_software(bytes(s.substr(0, cut)))),
              crc32c(bytes(s)));
  }
}

}  // namespace
}  // namespace nocopy::log
