// Helpers shared by the kafka tests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nocopy::kafka::test {

inline std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
  };
  std::string clean;
  for (char c : hex) {
    if (c != ' ' && c != '\n') clean.push_back(c);
  }
  for (std::size_t i = 0; i + 1 < clean.size(); i += 2) {
    out.push_back(static_cast<std::byte>(nib(clean[i]) * 16 + nib(clean[i + 1])));
  }
  return out;
}

inline std::string to_hex(std::span<const std::byte> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::byte x : b) {
    s.push_back(d[std::to_integer<int>(x) >> 4]);
    s.push_back(d[std::to_integer<int>(x) & 15]);
  }
  return s;
}

inline std::vector<std::byte> bytes_of(std::string_view s) {
  auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

}  // namespace nocopy::kafka::test
