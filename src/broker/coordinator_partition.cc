#include "broker/coordinator_partition.h"

#include <stdexcept>

namespace nocopy::broker {

namespace {

constexpr std::uint32_t kReplacement = 0xFFFD;

// Decodes one code point at `i` (advancing it); invalid or truncated
// sequences, overlongs and surrogates yield U+FFFD for their first byte.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = 0;
  std::uint32_t cp = 0;
  std::uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++i;
    return kReplacement;
  }
  if (i + len > s.size()) {
    ++i;
    return kReplacement;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kReplacement;
  }
  i += len;
  return cp;
}

}  // namespace

std::int32_t java_string_hash(std::string_view utf8) {
  std::uint32_t h = 0;  // unsigned: Java's int overflow wraps the same way
  for (std::size_t i = 0; i < utf8.size();) {
    const std::uint32_t cp = next_code_point(utf8, i);
    if (cp >= 0x10000) {
      const std::uint32_t v = cp - 0x10000;
      h = h * 31u + (0xD800 + (v >> 10));
      h = h * 31u + (0xDC00 + (v & 0x3FF));
    } else {
      h = h * 31u + cp;
    }
  }
  return static_cast<std::int32_t>(h);
}

std::int32_t coordinator_partition(std::string_view key, std::int32_t partitions) {
  if (partitions <= 0) throw std::invalid_argument("coordinator_partition: partitions must be > 0");
  const std::int32_t h = java_string_hash(key);
  // Kafka's Utils.abs: Integer.MIN_VALUE -> 0, else Math.abs.
  const std::int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return a % partitions;
}

}  // namespace nocopy::broker
