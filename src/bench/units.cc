#include "bench/units.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace nocopy::bench {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  text = trim(text);
  std::uint64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || ptr == first) return std::nullopt;
  std::string_view suffix(ptr, static_cast<std::size_t>(last - ptr));
  unsigned shift = 0;
  if (suffix.empty() || iequals(suffix, "b")) {
    shift = 0;
  } else if (iequals(suffix, "k") || iequals(suffix, "kb") || iequals(suffix, "kib")) {
    shift = 10;
  } else if (iequals(suffix, "m") || iequals(suffix, "mb") || iequals(suffix, "mib")) {
    shift = 20;
  } else if (iequals(suffix, "g") || iequals(suffix, "gb") || iequals(suffix, "gib")) {
    shift = 30;
  } else {
    return std::nullopt;
  }
  if (shift != 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return value << shift;
}

std::vector<std::uint64_t> parse_size_list(std::string_view text) {
  std::vector<std::uint64_t> out;
  if (trim(text).empty()) throw std::invalid_argument("empty size list");
  while (true) {
    const auto comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    const auto v = parse_size(item);
    if (!v) throw std::invalid_argument(fmt::format("bad size '{}' (expected e.g. 4K, 64K, 1M, 1G)", item));
    if (*v == 0) throw std::invalid_argument(fmt::format("size '{}' is zero", item));
    out.push_back(*v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_size(std::uint64_t bytes) {
  struct Unit {
    std::uint64_t size;
    const char* suffix;
  };
  static constexpr Unit units[] = {{1ull << 30, "G"}, {1ull << 20, "M"}, {1ull << 10, "K"}};
  for (const auto& u : units) {
    if (bytes >= u.size) {
      if (bytes % u.size == 0) return fmt::format("{}{}", bytes / u.size, u.suffix);
      return fmt::format("{:.1f}{}", static_cast<double>(bytes) / static_cast<double>(u.size), u.suffix);
    }
  }
  return fmt::format("{}B", bytes);
}

}  // namespace nocopy::bench
