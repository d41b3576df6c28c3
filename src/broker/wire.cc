#include "broker/wire.h"

#include <cstring>

namespace nocopy::broker {

bool WireReader::need(std::size_t n) {
  if (failed_ || data_.size() - pos_ < n) {
    failed_ = true;
    return false;
  }
  return true;
}

std::int8_t WireReader::i8() {
  if (!need(1)) return 0;
  return static_cast<std::int8_t>(data_[pos_++]);
}

std::int16_t WireReader::i16() {
  if (!need(2)) return 0;
  auto v = static_cast<std::uint16_t>((std::to_integer<unsigned>(data_[pos_]) << 8) |
                                      std::to_integer<unsigned>(data_[pos_ + 1]));
  pos_ += 2;
  return static_cast<std::int16_t>(v);
}

std::int32_t WireReader::i32() {
  if (!need(4)) return 0;
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | std::to_integer<std::uint32_t>(data_[pos_ + i]);
  pos_ += 4;
  return static_cast<std::int32_t>(v);
}

std::int64_t WireReader::i64() {
  if (!need(8)) return 0;
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(data_[pos_ + i]);
  pos_ += 8;
  return static_cast<std::int64_t>(v);
}

std::uint32_t WireReader::uvarint() {
  std::uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1)) return 0;
    auto b = std::to_integer<std::uint32_t>(data_[pos_++]);
    v |= (b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  failed_ = true;
  return 0;
}

std::string_view WireReader::string() {
  auto s = nullable_string();
  return s ? *s : std::string_view{};
}

std::optional<std::string_view> WireReader::nullable_string() {
  auto n = i16();
  if (failed_ || n < 0) return std::nullopt;
  if (!need(static_cast<std::size_t>(n))) return std::nullopt;
  std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return s;
}

std::optional<std::string_view> WireReader::compact_nullable_string() {
  auto n = uvarint();
  if (failed_ || n == 0) return std::nullopt;
  if (!need(n - 1)) return std::nullopt;
  std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), n - 1);
  pos_ += n - 1;
  return s;
}

std::string_view WireReader::compact_string() {
  auto s = compact_nullable_string();
  return s ? *s : std::string_view{};
}

std::optional<std::span<const std::byte>> WireReader::nullable_bytes() {
  auto n = i32();
  if (failed_ || n < 0) return std::nullopt;
  if (!need(static_cast<std::size_t>(n))) return std::nullopt;
  auto b = data_.subspan(pos_, static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return b;
}

std::int32_t WireReader::array_len() {
  auto n = i32();
  if (failed_) return 0;
  if (n < -1 || (n > 0 && static_cast<std::size_t>(n) > remaining())) {
    failed_ = true;
    return 0;
  }
  return n;
}

std::int32_t WireReader::compact_array_len() {
  auto n = uvarint();
  if (failed_) return 0;
  if (n == 0) return -1;
  if (n - 1 > remaining()) {
    failed_ = true;
    return 0;
  }
  return static_cast<std::int32_t>(n - 1);
}

void WireReader::skip_tagged_fields() {
  auto n = uvarint();
  for (std::uint32_t i = 0; i < n && !failed_; ++i) {
    uvarint();  // tag
    auto size = uvarint();
    skip(size);
  }
}

void WireReader::skip(std::size_t n) {
  if (need(n)) pos_ += n;
}

void WireWriter::i8(std::int8_t v) { buf_.push_back(static_cast<std::byte>(v)); }

void WireWriter::i16(std::int16_t v) {
  auto u = static_cast<std::uint16_t>(v);
  buf_.push_back(static_cast<std::byte>(u >> 8));
  buf_.push_back(static_cast<std::byte>(u));
}

void WireWriter::i32(std::int32_t v) {
  auto u = static_cast<std::uint32_t>(v);
  for (int s = 24; s >= 0; s -= 8) buf_.push_back(static_cast<std::byte>(u >> s));
}

void WireWriter::i64(std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int s = 56; s >= 0; s -= 8) buf_.push_back(static_cast<std::byte>(u >> s));
}

void WireWriter::uvarint(std::uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<std::byte>(v));
}

void WireWriter::string(std::string_view s) {
  i16(static_cast<std::int16_t>(s.size()));
  bytes(std::as_bytes(std::span(s.data(), s.size())));
}

void WireWriter::nullable_string(std::optional<std::string_view> s) {
  if (!s) {
    i16(-1);
    return;
  }
  string(*s);
}

void WireWriter::compact_string(std::string_view s) {
  uvarint(static_cast<std::uint32_t>(s.size() + 1));
  bytes(std::as_bytes(std::span(s.data(), s.size())));
}

void WireWriter::bytes(std::span<const std::byte> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }

std::size_t WireWriter::reserve_i32() {
  auto pos = buf_.size();
  i32(0);
  return pos;
}

void WireWriter::patch_i32(std::size_t pos, std::int32_t v) {
  auto u = static_cast<std::uint32_t>(v);
  for (int i = 0; i < 4; ++i) buf_[pos + i] = static_cast<std::byte>(u >> (24 - 8 * i));
}

}  // namespace nocopy::broker
