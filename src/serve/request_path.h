// Turns an HTTP request-target into a path relative to the served directory,
// or refuses it. Pure function; the first of two walls (the second is
// openat2(RESOLVE_BENEATH) in FileOpener, which also stops symlinks that
// leave the directory).
//
//   "/a/b%20c/?q=1"          -> ok, "a/b c", trailing_slash
//   "http://host/x"          -> ok, "x"          (absolute-form, RFC 9112 3.2.2)
//   "/../etc/passwd"         -> 403 (any ".." segment, raw or %2e%2e-encoded)
//   "/a%00b", "%zz", "x"     -> 400 (NUL, bad escape, not origin-form)
//   "//etc/passwd"           -> ok, "etc/passwd" (empty segments collapse: still inside)
#pragma once

#include <string>
#include <string_view>

namespace nocopy::serve {

struct RequestPath {
  int status = 0;           // 0 ok, else 400 / 403
  std::string relative;     // "a/b/c" ("" = the directory itself); never starts with '/', no "." or ".."
  bool trailing_slash = false;
  std::string decoded;      // percent-decoded path as requested (for redirects and listings)
};

RequestPath resolve_target(std::string_view target);

}  // namespace nocopy::serve
