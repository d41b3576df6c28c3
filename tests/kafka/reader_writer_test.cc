#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "kafka/reader.h"
#include "kafka/writer.h"
#include "test_util.h"

namespace nocopy::kafka {
namespace {

using test::from_hex;
using test::to_hex;

TEST(Writer, FixedWidthBigEndian) {
  Writer w;
  w.i8(-2);
  w.i16(0x0102);
  w.i32(-1);
  w.i64(0x0102030405060708);
  w.u32(0xdeadbeef);
  w.boolean(true);
  EXPECT_EQ(to_hex(w.buffer()), "fe0102ffffffff0102030405060708deadbeef01");
}

TEST(Reader, FixedWidthRoundTrip) {
  Writer w;
  w.i8(std::numeric_limits<std::int8_t>::min());
  w.i16(std::numeric_limits<std::int16_t>::min());
  w.i32(std::numeric_limits<std::int32_t>::min());
  w.i64(std::numeric_limits<std::int64_t>::min());
  w.u32(std::numeric_limits<std::uint32_t>::max());
  Reader r(w.buffer());
  EXPECT_EQ(r.i8(), std::numeric_limits<std::int8_t>::min());
  EXPECT_EQ(r.i16(), std::numeric_limits<std::int16_t>::min());
  EXPECT_EQ(r.i32(), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(r.i64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(r.u32(), std::numeric_limits<std::uint32_t>::max());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

// Known encodings from the Kafka protocol guide / protobuf zigzag.
TEST(Varint, KnownZigZagEncodings) {
  struct Case {
    std::int32_t v;
    const char* hex;
  };
  for (Case c : {Case{0, "00"}, Case{-1, "01"}, Case{1, "02"}, Case{63, "7e"}, Case{-64, "7f"}, Case{64, "8001"},
                 Case{-65, "8101"}, Case{std::numeric_limits<std::int32_t>::max(), "feffffff0f"},
                 Case{std::numeric_limits<std::int32_t>::min(), "ffffffff0f"}}) {
    Writer w;
    w.varint(c.v);
    EXPECT_EQ(to_hex(w.buffer()), c.hex) << c.v;
    Reader r(w.buffer());
    EXPECT_EQ(r.varint(), c.v);
    EXPECT_TRUE(r.ok());
  }
  Writer w;
  w.uvarint(300);
  EXPECT_EQ(to_hex(w.buffer()), "ac02");
}

TEST(Varint, VarlongExtremes) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1} << 40, -(std::int64_t{1} << 40),
                         std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    Writer w;
    w.varlong(v);
    Reader r(w.buffer());
    EXPECT_EQ(r.varlong(), v);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(Varint, OverlongIsRejected) {
  auto six = from_hex("ffffffffff01");
  Reader r(six);
  r.uvarint();
  EXPECT_EQ(r.error(), DecodeError::bad_varint);
  auto high_bits = from_hex("ffffffff1f");  // 5th byte sets bits above 32
  Reader r2(high_bits);
  r2.uvarint();
  EXPECT_EQ(r2.error(), DecodeError::bad_varint);
  auto eleven = from_hex("ffffffffffffffffffff01");
  Reader r3(eleven);
  r3.varlong();
  EXPECT_EQ(r3.error(), DecodeError::bad_varint);
}

TEST(Reader, TruncationIsStickyAndReturnsZero) {
  auto b = from_hex("0001");
  Reader r(b);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.error(), DecodeError::truncated);
  EXPECT_EQ(r.i8(), 0);  // even though a byte existed, the reader stays failed
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), DecodeError::truncated);
}

TEST(Reader, StringsClassicAndCompact) {
  Writer w;
  w.string("abc");
  w.nullable_string(std::nullopt);
  w.set_flexible(true);
  w.string("hello");
  w.nullable_string(std::nullopt);
  EXPECT_EQ(to_hex(w.buffer()), "0003616263ffff" "0668656c6c6f" "00");
  Reader r(w.buffer());
  EXPECT_EQ(r.string(), "abc");
  EXPECT_FALSE(r.nullable_string().has_value());
  r.set_flexible(true);
  EXPECT_EQ(r.string(), "hello");
  EXPECT_FALSE(r.nullable_string().has_value());
  EXPECT_TRUE(r.ok());
}

TEST(Reader, StringViewsPointIntoInput) {
  auto b = from_hex("0002 6869");
  Reader r(b);
  auto s = r.string();
  EXPECT_EQ(static_cast<const void*>(s.data()), static_cast<const void*>(b.data() + 2));
}

TEST(Reader, NullWhereNotNullableFails) {
  auto b = from_hex("ffff");
  Reader r(b);
  r.string();
  EXPECT_EQ(r.error(), DecodeError::negative_length);
}

TEST(Reader, NegativeAndHugeLengths) {
  {
    auto b = from_hex("fffe");  // -2
    Reader r(b);
    r.nullable_string();
    EXPECT_EQ(r.error(), DecodeError::negative_length);
  }
  {
    auto b = from_hex("7fffffff00");  // 2 GiB of bytes claimed, 1 present
    Reader r(b);
    r.nullable_bytes();
    EXPECT_EQ(r.error(), DecodeError::bad_length);
  }
  {
    auto b = from_hex("80000000");  // array of INT32_MIN elements
    Reader r(b);
    r.array_length();
    EXPECT_EQ(r.error(), DecodeError::negative_length);
  }
  {
    auto b = from_hex("000f4240");  // 1,000,000 elements, no bytes
    Reader r(b);
    r.array_length();
    EXPECT_EQ(r.error(), DecodeError::bad_length);
  }
  {
    auto b = from_hex("ffffffff0f");  // compact array: uvarint 2^32-1 -> too long
    Reader r(b, true);
    r.array_length();
    EXPECT_FALSE(r.ok());
  }
}

TEST(Reader, NullArrayIsMinusOne) {
  auto b = from_hex("ffffffff");
  Reader r(b);
  EXPECT_EQ(r.array_length(), -1);
  EXPECT_TRUE(r.ok());
  auto c = from_hex("00");
  Reader rc(c, true);
  EXPECT_EQ(rc.array_length(), -1);
  EXPECT_TRUE(rc.ok());
}

TEST(Reader, TaggedFieldsAreSkipped) {
  // 2 tags: tag 0 with 3 bytes, tag 5 with 0 bytes; then an int8.
  auto b = from_hex("02 00 03 aabbcc 05 00 7f");
  Reader r(b, true);
  r.skip_tagged_fields();
  EXPECT_EQ(r.i8(), 0x7f);
  EXPECT_TRUE(r.ok());
  auto bad = from_hex("01 00 05 aa");  // claims 5 bytes, has 1
  Reader rb(bad, true);
  rb.skip_tagged_fields();
  EXPECT_EQ(rb.error(), DecodeError::bad_length);
}

TEST(Reader, Uuid) {
  Writer w;
  Uuid u{};
  for (int i = 0; i < 16; ++i) u[i] = static_cast<std::byte>(i * 7);
  w.uuid(u);
  Reader r(w.buffer());
  EXPECT_EQ(r.uuid(), u);
  Reader r2(std::span(w.buffer()).first(15));
  r2.uuid();
  EXPECT_FALSE(r2.ok());
}

TEST(Writer, ReserveAndPatchCountsSplicedBytes) {
  Writer w;
  auto at = w.reserve_i32();
  w.i16(7);
  w.splice(3, 1000);
  w.i8(1);
  w.patch_i32(at, static_cast<std::int32_t>(w.size() - 4));
  EXPECT_EQ(w.size(), 4u + 2 + 1000 + 1);
  Reader r(w.buffer());
  EXPECT_EQ(r.i32(), 1003);
  ASSERT_EQ(w.splices().size(), 1u);
  EXPECT_EQ(w.splices()[0], (SplicePoint{6, 3, 1000}));
}

}  // namespace
}  // namespace nocopy::kafka
