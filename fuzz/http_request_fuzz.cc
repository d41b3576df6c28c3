// libFuzzer target for the HTTP request-head parser and the pure helpers that
// see client bytes (target -> path, Range). Built by fuzz/CMakeLists.txt,
// run by scripts/fuzz.sh.
//
// Properties checked: no crash/UB; a complete parse consumes a prefix that
// ends in '\n'; errors are one of the documented statuses; a resolved path
// never contains a ".." segment or a NUL and never starts with '/'.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "serve/byte_range.h"
#include "serve/http_request.h"
#include "serve/request_path.h"

using namespace nocopy::serve;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  HttpLimits lim;
  lim.max_request_line = 256;
  lim.max_header_bytes = 1024;
  lim.max_headers = 16;
  ParseResult r = parse_request(in, lim);
  if (r.status == ParseResult::Status::complete) {
    if (r.consumed == 0 || r.consumed > size || in[r.consumed - 1] != '\n') std::abort();
    RequestPath p = resolve_target(r.request.target);
    if (p.status == 0) {
      if (!p.relative.empty() && p.relative.front() == '/') std::abort();
      if (p.relative.find('\0') != std::string::npos) std::abort();
      std::string_view rest = p.relative;
      while (!rest.empty()) {
        auto slash = rest.find('/');
        if (rest.substr(0, slash) == ".." || rest.substr(0, slash) == ".") std::abort();
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
      }
    }
    ByteRange br = parse_range(r.request.range, size * 1000);
    if (br.kind == ByteRange::Kind::satisfiable && (br.first > br.last || br.last >= size * 1000)) std::abort();
  } else if (r.status == ParseResult::Status::error) {
    if (r.http_status != 400 && r.http_status != 414 && r.http_status != 431 && r.http_status != 505) std::abort();
  }
  return 0;
}
