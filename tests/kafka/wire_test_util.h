// Body codecs of generated messages for the kafka tests: encode and decode a
// message's body (no header, no size prefix) at one version, and pin its wire
// layout against a hex string.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kafka/reader.h"
#include "kafka/serde.h"
#include "kafka/versioned_record.h"
#include "kafka/writer.h"
#include "test_util.h"

namespace nocopy::kafka::test {

// `m`'s body at version `v`; inline bytes only (a splice fails the test).
template <class Msg>
std::vector<std::byte> encode(const Msg& m, std::int16_t v) {
  Writer w(flexible_version<Msg>(v));
  Encoder e(w, v);
  serde(e, const_cast<Msg&>(m));
  EXPECT_TRUE(w.splices().empty());
  return w.take_buffer();
}

// A body at version `v` into `out`: none, or why not (trailing_bytes when
// bytes are left over).
template <class Msg>
DecodeError decode(std::span<const std::byte> bytes, std::int16_t v, Msg& out) {
  Reader r(bytes, flexible_version<Msg>(v));
  Decoder d(r, v);
  serde(d, out);
  if (r.ok() && r.remaining() != 0) return DecodeError::trailing_bytes;
  return r.error();
}

// `m` at `v` encodes to `hex`, which decodes to a message that encodes to
// `hex` again.
template <class Msg>
void expect_wire(const Msg& m, std::int16_t v, const char* hex) {
  SCOPED_TRACE("v" + std::to_string(v));
  EXPECT_EQ(to_hex(encode(m, v)), hex);
  Msg back;
  auto bytes = from_hex(hex);
  ASSERT_EQ(decode(bytes, v, back), DecodeError::none);
  EXPECT_EQ(to_hex(encode(back, v)), hex);
}

}  // namespace nocopy::kafka::test
