#include "kafka/uuid.h"

#include <mutex>
#include <random>

namespace nocopy::kafka {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string uuid_to_string(const Uuid& u) {
  std::string out;
  out.reserve(22);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::byte b : u) {
    acc = (acc << 8) | static_cast<std::uint32_t>(b);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  // 128 bits = 21 * 6 + 2: the last character holds 2 bits, zero-padded.
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<Uuid> parse_uuid(std::string_view text) {
  if (text.size() != 22) return std::nullopt;
  Uuid u{};
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : text) {
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == u.size()) return std::nullopt;
      u[n++] = static_cast<std::byte>((acc >> bits) & 0xff);
    }
  }
  // 22 characters are 132 bits: the 4 left over must be zero (one spelling
  // per id, as Java's decoder produces).
  if (n != u.size() || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return u;
}

Uuid random_topic_id() {
  static std::mutex mu;
  static std::random_device rd;
  for (;;) {
    Uuid u{};
    {
      std::lock_guard lk(mu);
      for (std::size_t i = 0; i < u.size(); i += 4) {
        const std::uint32_t r = rd();
        for (std::size_t j = 0; j < 4; ++j) u[i + j] = static_cast<std::byte>(r >> (8 * j));
      }
    }
    u[6] = (u[6] & std::byte{0x0f}) | std::byte{0x40};  // version 4
    u[8] = (u[8] & std::byte{0x3f}) | std::byte{0x80};  // IETF variant
    Uuid reserved{};
    reserved[15] = std::byte{1};
    if (is_zero(u) || u == reserved || uuid_to_string(u).front() == '-') continue;
    return u;
  }
}

}  // namespace nocopy::kafka
