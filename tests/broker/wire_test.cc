#include <gtest/gtest.h>

#include "broker/wire.h"

namespace nocopy::broker {
namespace {

TEST(Wire, RoundTripsPrimitives) {
  WireWriter w;
  w.i8(-3);
  w.i16(-2);
  w.i32(0x12345678);
  w.i64(-1234567890123LL);
  w.string("hello");
  w.nullable_string(std::nullopt);
  w.uvarint(300);
  w.compact_string("abc");
  auto pos = w.reserve_i32();
  w.patch_i32(pos, 77);
  auto bytes = w.take();
  WireReader r(bytes);
  EXPECT_EQ(r.i8(), -3);
  EXPECT_EQ(r.i16(), -2);
  EXPECT_EQ(r.i32(), 0x12345678);
  EXPECT_EQ(r.i64(), -1234567890123LL);
  EXPECT_EQ(r.string(), "hello");
  EXPECT_FALSE(r.nullable_string().has_value());
  EXPECT_EQ(r.uvarint(), 300u);
  EXPECT_EQ(r.compact_string(), "abc");
  EXPECT_EQ(r.i32(), 77);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.remaining(), 0u);
  r.i8();
  EXPECT_TRUE(r.failed());
}

TEST(Wire, TruncatedFieldsFailWithoutReadingPastTheEnd) {
  WireWriter w;
  w.i16(10);  // a string of 10 bytes...
  w.bytes(std::as_bytes(std::span("abc", 3)));  // ...of which 3 arrived
  auto bytes = w.take();
  WireReader r(bytes);
  EXPECT_EQ(r.string(), "");
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.i64(), 0);  // stays failed
}

TEST(Wire, HugeArrayCountsFail) {
  WireWriter w;
  w.i32(0x7fffffff);
  w.i32(1);
  auto bytes = w.take();
  WireReader r(bytes);
  EXPECT_EQ(r.array_len(), 0);
  EXPECT_TRUE(r.failed());

  WireWriter w2;
  w2.i32(-1);
  auto b2 = w2.take();
  WireReader r2(b2);
  EXPECT_EQ(r2.array_len(), -1);  // null array
  EXPECT_FALSE(r2.failed());
}

TEST(Wire, OverlongVarintFails) {
  std::vector<std::byte> b(6, std::byte{0xff});
  WireReader r(b);
  r.uvarint();
  EXPECT_TRUE(r.failed());
}

TEST(Wire, NegativeBytesLengthIsNull) {
  WireWriter w;
  w.i32(-1);
  auto b = w.take();
  WireReader r(b);
  EXPECT_FALSE(r.nullable_bytes().has_value());
  EXPECT_FALSE(r.failed());
}

}  // namespace
}  // namespace nocopy::broker
