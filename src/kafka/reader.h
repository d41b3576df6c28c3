// Reader: bounds-checked decoding of Kafka primitive types from untrusted bytes.
//
// Contract:
// - The Reader views, never owns, its input. Every std::string_view / span it
//   returns points into that input: the caller keeps the buffer alive (and
//   unchanged) for as long as it uses them. Nothing is copied.
// - Errors are sticky: the first short input, negative/oversized length or
//   malformed varint puts the Reader into a failed state; from then on every
//   read returns a zero/empty value and ok() is false. Callers decode a whole
//   message and check ok() once. No input can cause UB or an allocation
//   larger than the input (array lengths are checked against the bytes left).
// - Not thread-safe (plain value type; use one per thread).
// - "Flexible" mode (KIP-482) switches string/bytes/array to their compact
//   (unsigned-varint length + 1) forms; tagged fields are always explicit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace nocopy::kafka {

enum class DecodeError : std::uint8_t {
  none = 0,
  truncated,        // input ended inside a field
  negative_length,  // a length below -1 (or -1 where null is not allowed)
  bad_length,       // a length larger than the bytes left
  bad_varint,       // more than 5 (varint) / 10 (varlong) bytes
  bad_value,        // a field value outside its domain (e.g. unknown api key)
  trailing_bytes,   // bytes left over after a complete message
};

const char* decode_error_name(DecodeError e);

using Uuid = std::array<std::byte, 16>;

class Reader {
 public:
  explicit Reader(std::span<const std::byte> data, bool flexible = false)
      : data_(data), flexible_(flexible) {}

  bool ok() const { return error_ == DecodeError::none; }
  DecodeError error() const { return error_; }
  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool flexible() const { return flexible_; }
  void set_flexible(bool f) { flexible_ = f; }

  // Put the reader into the failed state (first error wins).
  void fail(DecodeError e);

  std::int8_t i8();
  std::int16_t i16();
  std::int32_t i32();
  std::int64_t i64();
  std::uint32_t u32();
  bool boolean() { return i8() != 0; }
  std::int32_t varint();      // zigzag
  std::int64_t varlong();     // zigzag
  std::uint32_t uvarint();    // unsigned, up to 5 bytes
  Uuid uuid();

  // Next n bytes as a view; empty + failure when fewer remain.
  std::span<const std::byte> raw(std::size_t n);

  // Strings and bytes follow the flexible mode (int16/int32 length vs
  // compact unsigned varint length+1). Null where not nullable fails with
  // negative_length.
  std::optional<std::string_view> nullable_string();
  std::string_view string();
  std::optional<std::span<const std::byte>> nullable_bytes();
  std::span<const std::byte> bytes();

  // Array element count; -1 means a null array. A count larger than the
  // bytes left fails (every element of every Kafka array takes >= 1 byte).
  std::int32_t array_length();

  // Tagged fields (flexible versions): skips every tag, none are known here.
  void skip_tagged_fields();

 private:
  bool need(std::size_t n);
  std::int64_t length_prefix(bool wide);  // -1 null

  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
  DecodeError error_ = DecodeError::none;
  bool flexible_ = false;
};

}  // namespace nocopy::kafka
