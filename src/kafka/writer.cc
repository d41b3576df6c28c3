#include "kafka/writer.h"

#include <stdexcept>

namespace nocopy::kafka {

namespace {
template <class U>
void store_be(std::vector<std::byte>& out, U v) {
  for (int i = static_cast<int>(sizeof(U)) - 1; i >= 0; --i) {
    out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
}
}  // namespace

void Writer::i8(std::int8_t v) { buf_.push_back(static_cast<std::byte>(v)); }
void Writer::i16(std::int16_t v) { store_be(buf_, static_cast<std::uint16_t>(v)); }
void Writer::i32(std::int32_t v) { store_be(buf_, static_cast<std::uint32_t>(v)); }
void Writer::u32(std::uint32_t v) { store_be(buf_, v); }
void Writer::i64(std::int64_t v) { store_be(buf_, static_cast<std::uint64_t>(v)); }

void Writer::uvarint(std::uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<std::byte>(v));
}

void Writer::varint(std::int32_t v) {
  auto u = static_cast<std::uint32_t>(v);
  uvarint((u << 1) ^ (v < 0 ? 0xffffffffu : 0u));
}

void Writer::varlong(std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  std::uint64_t z = (u << 1) ^ (v < 0 ? ~std::uint64_t{0} : 0);
  while (z >= 0x80) {
    buf_.push_back(static_cast<std::byte>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  buf_.push_back(static_cast<std::byte>(z));
}

void Writer::raw(std::span<const std::byte> bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }

void Writer::nullable_string(const std::optional<std::string_view>& s) {
  if (!s) {
    if (flexible_) uvarint(0);
    else i16(-1);
    return;
  }
  if (flexible_) uvarint(static_cast<std::uint32_t>(s->size() + 1));
  else {
    if (s->size() > 32767) throw std::length_error("kafka string longer than 32767 bytes");
    i16(static_cast<std::int16_t>(s->size()));
  }
  raw(std::as_bytes(std::span(s->data(), s->size())));
}

void Writer::string(std::string_view s) { nullable_string(s); }

void Writer::nullable_bytes(const std::optional<std::span<const std::byte>>& b) {
  if (!b) {
    if (flexible_) uvarint(0);
    else i32(-1);
    return;
  }
  if (flexible_) uvarint(static_cast<std::uint32_t>(b->size() + 1));
  else i32(static_cast<std::int32_t>(b->size()));
  raw(*b);
}

void Writer::bytes(std::span<const std::byte> b) { nullable_bytes(b); }

void Writer::array_length(std::int32_t n) {
  if (flexible_) uvarint(static_cast<std::uint32_t>(n + 1));
  else i32(n);
}

std::size_t Writer::reserve_i32() {
  std::size_t at = buf_.size();
  i32(0);
  return at;
}

void Writer::patch_i32(std::size_t at, std::int32_t v) {
  auto u = static_cast<std::uint32_t>(v);
  for (int i = 0; i < 4; ++i) buf_.at(at + i) = static_cast<std::byte>((u >> (8 * (3 - i))) & 0xff);
}

void Writer::splice(std::uint32_t index, std::uint32_t length) {
  splices_.push_back(SplicePoint{buf_.size(), index, length});
  spliced_bytes_ += length;
}

}  // namespace nocopy::kafka
