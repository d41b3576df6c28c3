#include "serve/byte_range.h"

#include <charconv>

namespace nocopy::serve {

namespace {
bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange r;
  header = trim(header);
  if (header.size() < 6) return r;
  // Unit is case-insensitive.
  std::string_view unit = header.substr(0, 6);
  if (!((unit[0] | 0x20) == 'b' && (unit[1] | 0x20) == 'y' && (unit[2] | 0x20) == 't' && (unit[3] | 0x20) == 'e' &&
        (unit[4] | 0x20) == 's' && unit[5] == '='))
    return r;
  std::string_view spec = trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return r;  // multiple ranges: ignored
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return r;
  std::string_view a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
  if (a.empty()) {
    std::uint64_t n;
    if (!parse_u64(b, n)) return r;
    if (n == 0 || size == 0) {
      r.kind = ByteRange::Kind::unsatisfiable;
      return r;
    }
    r.kind = ByteRange::Kind::satisfiable;
    r.first = n >= size ? 0 : size - n;
    r.last = size - 1;
    return r;
  }
  std::uint64_t first;
  if (!parse_u64(a, first)) return r;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    std::uint64_t l;
    if (!parse_u64(b, l)) return r;
    if (l < first) return r;  // invalid: ignore the header
    if (l < last) last = l;
  }
  if (first >= size) {
    r.kind = ByteRange::Kind::unsatisfiable;
    return r;
  }
  r.kind = ByteRange::Kind::satisfiable;
  r.first = first;
  r.last = last;
  return r;
}

}  // namespace nocopy::serve
