// Byte-size parsing and formatting for the benchmark's command line and tables.
//
// Sizes are binary: "4K" = 4096, "1M" = 2^20, "1G" = 2^30. Accepted forms:
// a decimal integer with an optional suffix K, M, G (case-insensitive), also
// spelled KB/KiB, MB/MiB, GB/GiB. Parsing never throws; list parsing throws
// std::invalid_argument with a message naming the bad element.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nocopy::bench {

std::optional<std::uint64_t> parse_size(std::string_view text);

// "4K,64K,1M": every element must parse and be > 0.
std::vector<std::uint64_t> parse_size_list(std::string_view text);

// 4096 -> "4K", 1610612736 -> "1.5G", 100 -> "100B".
std::string format_size(std::uint64_t bytes);

inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

}  // namespace nocopy::bench
