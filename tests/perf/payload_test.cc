#include "perf/payload.h"

#include <gtest/gtest.h>

#include <vector>

namespace nocopy::perf {

TEST(Payload, RoundTripsHeaderAndLeavesFillerAlone) {
  std::vector<std::byte> buf(100, std::byte{0x5a});
  const PayloadHeader h{0xdeadbeef, 0x0123456789abcdefull, 1'700'000'000'123'456'789ull};
  encode_payload_header(h, buf);
  const auto d = decode_payload_header(buf);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->run_id, h.run_id);
  EXPECT_EQ(d->sequence, h.sequence);
  EXPECT_EQ(d->timestamp_ns, h.timestamp_ns);
  for (std::size_t i = kPayloadHeaderSize; i < buf.size(); ++i) EXPECT_EQ(buf[i], std::byte{0x5a});
}

TEST(Payload, IsLittleEndianOnTheWire) {
  std::vector<std::byte> buf(kPayloadHeaderSize);
  encode_payload_header({1, 2, 3}, buf);
  EXPECT_EQ(buf[0], std::byte{0x46});  // 'F' of magic 0x4E435046
  EXPECT_EQ(buf[4], std::byte{1});
  EXPECT_EQ(buf[8], std::byte{2});
  EXPECT_EQ(buf[16], std::byte{3});
}

TEST(Payload, RejectsShortOrForeignValues) {
  std::vector<std::byte> buf(kPayloadHeaderSize);
  encode_payload_header({1, 2, 3}, buf);
  EXPECT_FALSE(decode_payload_header(std::span<const std::byte>(buf).first(kPayloadHeaderSize - 1)));
  buf[0] = std::byte{0};
  EXPECT_FALSE(decode_payload_header(buf));
}

TEST(Payload, ClocksAdvance) {
  const auto a = monotonic_ns();
  const auto w = realtime_ns();
  EXPECT_GT(w, 1'600'000'000ull * 1'000'000'000ull);  // after 2020
  EXPECT_GE(monotonic_ns(), a);
}

}  // namespace nocopy::perf
