// Writer: encodes Kafka primitive types into a growable byte buffer, with
// splice points for bytes that are not in the buffer (zero-copy records).
//
// Contract:
// - The Writer owns its buffer (std::vector<std::byte>); take() moves it out.
// - A *splice point* (splice()) stands for `length` bytes the caller will send
//   from elsewhere (a file region of the log) at that position of the stream.
//   The buffer holds everything except those bytes. size() is the *logical*
//   size: buffer bytes + spliced lengths, so length prefixes written with
//   reserve_i32()/patch_i32() cover spliced bytes too and the response's
//   total size is known before any record byte is sent.
// - Flexible mode selects compact strings/bytes/arrays, as in Reader.
// - Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kafka/reader.h"

namespace nocopy::kafka {

// `length` external bytes (the caller's region number `index`) belong right
// before buffer offset `offset`.
struct SplicePoint {
  std::size_t offset = 0;
  std::uint32_t index = 0;
  std::uint32_t length = 0;

  bool operator==(const SplicePoint&) const = default;
};

class Writer {
 public:
  explicit Writer(bool flexible = false) : flexible_(flexible) {}

  bool flexible() const { return flexible_; }
  void set_flexible(bool f) { flexible_ = f; }

  // Logical size: buffered bytes + spliced bytes.
  std::uint64_t size() const { return buf_.size() + spliced_bytes_; }
  std::span<const std::byte> buffer() const { return buf_; }
  std::span<const SplicePoint> splices() const { return splices_; }
  std::vector<std::byte> take_buffer() { return std::move(buf_); }
  std::vector<SplicePoint> take_splices() { return std::move(splices_); }

  void i8(std::int8_t v);
  void i16(std::int16_t v);
  void i32(std::int32_t v);
  void i64(std::int64_t v);
  void u32(std::uint32_t v);
  void boolean(bool v) { i8(v ? 1 : 0); }
  void varint(std::int32_t v);
  void varlong(std::int64_t v);
  void uvarint(std::uint32_t v);
  void uuid(const Uuid& u) { raw(u); }
  void raw(std::span<const std::byte> bytes);

  void string(std::string_view s);
  void nullable_string(const std::optional<std::string_view>& s);
  void bytes(std::span<const std::byte> b);
  void nullable_bytes(const std::optional<std::span<const std::byte>>& b);
  void array_length(std::int32_t n);  // -1: null array
  void empty_tagged_fields() { uvarint(0); }

  // Reserve an int32 at the current position; returns its buffer offset.
  std::size_t reserve_i32();
  void patch_i32(std::size_t at, std::int32_t v);

  // A placeholder for `length` bytes supplied by the caller at send time.
  void splice(std::uint32_t index, std::uint32_t length);

 private:
  std::vector<std::byte> buf_;
  std::vector<SplicePoint> splices_;
  std::uint64_t spliced_bytes_ = 0;
  bool flexible_ = false;
};

}  // namespace nocopy::kafka
