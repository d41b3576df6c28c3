#include "kafka/reader.h"

#include <cstring>

namespace nocopy::kafka {

const char* decode_error_name(DecodeError e) {
  switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::truncated: return "truncated";
    case DecodeError::negative_length: return "negative length";
    case DecodeError::bad_length: return "length exceeds input";
    case DecodeError::bad_varint: return "malformed varint";
    case DecodeError::bad_value: return "invalid value";
    case DecodeError::trailing_bytes: return "trailing bytes";
  }
  return "?";
}

void Reader::fail(DecodeError e) {
  if (error_ == DecodeError::none) error_ = e;
  pos_ = data_.size();
}

bool Reader::need(std::size_t n) {
  if (!ok()) return false;
  if (remaining() < n) {
    fail(DecodeError::truncated);
    return false;
  }
  return true;
}

namespace {
template <class U>
U load_be(const std::byte* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>((v << 8) | std::to_integer<U>(p[i]));
  return v;
}
}  // namespace

std::int8_t Reader::i8() {
  if (!need(1)) return 0;
  return static_cast<std::int8_t>(data_[pos_++]);
}

std::int16_t Reader::i16() {
  if (!need(2)) return 0;
  auto v = load_be<std::uint16_t>(data_.data() + pos_);
  pos_ += 2;
  return static_cast<std::int16_t>(v);
}

std::int32_t Reader::i32() { return static_cast<std::int32_t>(u32()); }

std::uint32_t Reader::u32() {
  if (!need(4)) return 0;
  auto v = load_be<std::uint32_t>(data_.data() + pos_);
  pos_ += 4;
  return v;
}

std::int64_t Reader::i64() {
  if (!need(8)) return 0;
  auto v = load_be<std::uint64_t>(data_.data() + pos_);
  pos_ += 8;
  return static_cast<std::int64_t>(v);
}

std::uint32_t Reader::uvarint() {
  std::uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1)) return 0;
    auto b = std::to_integer<std::uint32_t>(data_[pos_++]);
    if (shift == 28 && (b & 0xf0) != 0) break;  // would overflow 32 bits
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail(DecodeError::bad_varint);
  return 0;
}

std::int32_t Reader::varint() {
  std::uint32_t z = uvarint();
  return static_cast<std::int32_t>((z >> 1) ^ (~(z & 1) + 1));
}

std::int64_t Reader::varlong() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(1)) return 0;
    auto b = std::to_integer<std::uint64_t>(data_[pos_++]);
    if (shift == 63 && (b & 0xfe) != 0) break;
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  fail(DecodeError::bad_varint);
  return 0;
}

Uuid Reader::uuid() {
  Uuid u{};
  auto s = raw(16);
  if (s.size() == 16) std::memcpy(u.data(), s.data(), 16);
  return u;
}

std::span<const std::byte> Reader::raw(std::size_t n) {
  if (!need(n)) return {};
  auto s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

std::int64_t Reader::length_prefix(bool wide) {
  std::int64_t len;
  if (flexible_) {
    len = static_cast<std::int64_t>(uvarint()) - 1;
  } else {
    len = wide ? i32() : i16();
  }
  if (!ok()) return -1;
  if (len < -1) {
    fail(DecodeError::negative_length);
    return -1;
  }
  if (len > static_cast<std::int64_t>(remaining())) {
    fail(DecodeError::bad_length);
    return -1;
  }
  return len;
}

std::optional<std::string_view> Reader::nullable_string() {
  std::int64_t len = length_prefix(false);
  if (!ok() || len < 0) return std::nullopt;
  auto s = raw(static_cast<std::size_t>(len));
  return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
}

std::string_view Reader::string() {
  auto s = nullable_string();
  if (!s) {
    fail(DecodeError::negative_length);
    return {};
  }
  return *s;
}

std::optional<std::span<const std::byte>> Reader::nullable_bytes() {
  std::int64_t len = length_prefix(true);
  if (!ok() || len < 0) return std::nullopt;
  return raw(static_cast<std::size_t>(len));
}

std::span<const std::byte> Reader::bytes() {
  auto b = nullable_bytes();
  if (!b) {
    fail(DecodeError::negative_length);
    return {};
  }
  return *b;
}

std::int32_t Reader::array_length() {
  // An array count is prefixed like bytes: int32, or uvarint + 1 when flexible.
  return static_cast<std::int32_t>(length_prefix(true));
}

void Reader::skip_tagged_fields() {
  std::uint32_t n = uvarint();
  for (std::uint32_t i = 0; i < n && ok(); ++i) {
    (void)uvarint();  // tag
    std::uint32_t size = uvarint();
    if (ok() && size > remaining()) {
      fail(DecodeError::bad_length);
      return;
    }
    (void)raw(size);
  }
}

}  // namespace nocopy::kafka
