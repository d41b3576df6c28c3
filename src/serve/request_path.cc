#include "serve/request_path.h"

namespace nocopy::serve {

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
RequestPath fail(int status) {
  RequestPath p;
  p.status = status;
  return p;
}
}  // namespace

RequestPath resolve_target(std::string_view target) {
  // absolute-form: scheme://authority/path
  if (auto scheme = target.find("://"); scheme != std::string_view::npos && !target.starts_with("/")) {
    auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.empty() || target.front() != '/') return fail(400);
  target = target.substr(0, target.find_first_of("?#"));

  RequestPath out;
  out.decoded.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    if (c == '%') {
      if (i + 2 >= target.size()) return fail(400);
      int hi = hexval(target[i + 1]), lo = hexval(target[i + 2]);
      if (hi < 0 || lo < 0) return fail(400);
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return fail(400);
    out.decoded += c;
  }
  out.trailing_slash = out.decoded.back() == '/';

  std::string_view rest = out.decoded;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") return fail(403);
    if (!out.relative.empty()) out.relative += '/';
    out.relative += seg;
  }
  return out;
}

}  // namespace nocopy::serve
