// Minimal Kafka primitive encoding used by the broker's request handlers.
//
// WireReader never reads past its span: any short or malformed field sets
// failed() and yields zero/empty values, so a handler decodes a whole request
// and checks failed() once. Strings and byte fields are views into the
// request buffer (no copy); they live as long as that buffer.
//
// WireWriter appends big-endian fields to a growable byte vector and can
// patch an int32 written earlier (length prefixes known only at the end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nocopy::broker {

class WireReader {
 public:
  explicit WireReader(std::span<const std::byte> data) : data_(data) {}

  std::int8_t i8();
  std::int16_t i16();
  std::int32_t i32();
  std::int64_t i64();
  bool boolean() { return i8() != 0; }
  std::uint32_t uvarint();
  std::string_view string();                     // int16 length; -1 gives ""
  std::optional<std::string_view> nullable_string();
  std::optional<std::string_view> compact_nullable_string();
  std::string_view compact_string();
  std::optional<std::span<const std::byte>> nullable_bytes();  // int32 length
  // Array length: -1 (null) returns -1; a count larger than the bytes left
  // could possibly hold (>= 1 byte per element) fails.
  std::int32_t array_len();
  std::int32_t compact_array_len();  // uvarint N+1; 0 = null (-1)
  void skip_tagged_fields();
  void skip(std::size_t n);

  bool failed() const { return failed_; }
  std::size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
  std::size_t position() const { return pos_; }

 private:
  bool need(std::size_t n);
  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

class WireWriter {
 public:
  void i8(std::int8_t v);
  void i16(std::int16_t v);
  void i32(std::int32_t v);
  void i64(std::int64_t v);
  void boolean(bool v) { i8(v ? 1 : 0); }
  void uvarint(std::uint32_t v);
  void string(std::string_view s);
  void nullable_string(std::optional<std::string_view> s);
  void compact_string(std::string_view s);
  void bytes(std::span<const std::byte> b);  // raw, no prefix
  std::size_t reserve_i32();                 // returns the position to patch
  void patch_i32(std::size_t pos, std::int32_t v);

  std::size_t size() const { return buf_.size(); }
  std::vector<std::byte>& data() { return buf_; }
  std::vector<std::byte> take() { return std::move(buf_); }

 private:
  std::vector<std::byte> buf_;
};

}  // namespace nocopy::broker
