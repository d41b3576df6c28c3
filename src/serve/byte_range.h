// The Range request header (RFC 9110 14.2), single ranges only.
//
//   none:           no header, not "bytes=", malformed, or several ranges
//                   (a server may ignore Range: we answer 200 with the whole file)
//   satisfiable:    [first, last] inclusive, clipped to the file -> 206
//   unsatisfiable:  first >= size, or a suffix of 0 bytes, or size 0 -> 416
#pragma once

#include <cstdint>
#include <string_view>

namespace nocopy::serve {

struct ByteRange {
  enum class Kind { none, satisfiable, unsatisfiable };
  Kind kind = Kind::none;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const { return last - first + 1; }
};

ByteRange parse_range(std::string_view header, std::uint64_t size);

}  // namespace nocopy::serve
