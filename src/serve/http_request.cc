#include "serve/http_request.h"

#include <charconv>
#include <cstdint>

namespace nocopy::serve {

namespace {

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated list `v` contains `token` (case-insensitive).
bool list_has(std::string_view v, std::string_view token) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = trim_ows(v.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

ParseResult error(int status, const char* reason) {
  ParseResult r;
  r.status = ParseResult::Status::error;
  r.http_status = status;
  r.reason = reason;
  return r;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x | 0x20);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y | 0x20);
    if (x != y) return false;
  }
  return true;
}

std::string HttpRequest::request_line() const {
  std::string s;
  s.reserve(method.size() + target.size() + 10);
  s += method;
  s += ' ';
  s += target;
  s += " HTTP/1.";
  s += static_cast<char>('0' + version_minor);
  return s;
}

ParseResult parse_request(std::string_view data, const HttpLimits& limits) {
  std::size_t pos = 0;
  // RFC 9112 2.2: ignore at least one empty line before the request line.
  std::size_t skipped = 0;
  while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) {
    ++pos;
    if (++skipped > 8) return error(400, "too many empty lines before the request");
  }
  const std::size_t line_start = pos;
  const std::size_t nl = data.find('\n', line_start);
  if (nl == std::string_view::npos) {
    std::string_view partial = data.substr(line_start);
    // Early garbage detection: the method must be a token.
    auto sp = partial.find(' ');
    std::string_view m = partial.substr(0, sp);
    for (unsigned char c : m)
      if (!is_tchar(c) && c != '\r') return error(400, "bad method");
    if (sp == std::string_view::npos && m.size() > 32) return error(400, "method too long");
    if (partial.size() > limits.max_request_line) return error(414, "request line too long");
    return {};
  }
  std::string_view line = data.substr(line_start, nl - line_start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits.max_request_line) return error(414, "request line too long");

  ParseResult r;
  HttpRequest& req = r.request;
  {
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return error(400, "malformed request line");
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return error(400, "malformed request line");
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) return error(400, "bad method");
    if (target.empty()) return error(400, "empty target");
    for (unsigned char c : target)
      if (c <= 0x20 || c == 0x7f) return error(400, "control character in target");
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9')
      return error(400, "malformed HTTP version");
    if (version[5] != '1') return error(505, "HTTP version not supported");
    req.method = method;
    req.target = target;
    req.version_minor = version[7] - '0';
    if (req.version_minor > 1) req.version_minor = 1;  // HTTP/1.2+ is answered as 1.1 (RFC 9110 6.2)
  }

  bool connection_close = false, connection_keep_alive = false, seen_host = false, seen_length = false;
  std::size_t headers = 0;
  pos = nl + 1;
  const std::size_t headers_start = pos;
  for (;;) {
    const std::size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) {
      if (data.size() - headers_start > limits.max_header_bytes) return error(431, "header block too large");
      // A partial header line with a NUL or other control byte is already garbage.
      for (std::size_t i = pos; i < data.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(data[i]);
        if (c == 0 || (c < 0x20 && c != '\t' && c != '\r')) return error(400, "control character in header");
      }
      return {};
    }
    if (eol + 1 - headers_start > limits.max_header_bytes) return error(431, "header block too large");
    std::string_view h = data.substr(pos, eol - pos);
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    pos = eol + 1;
    if (h.empty()) break;
    if (++headers > limits.max_headers) return error(431, "too many headers");
    if (h.front() == ' ' || h.front() == '\t') return error(400, "obsolete line folding");
    auto colon = h.find(':');
    if (colon == std::string_view::npos) return error(400, "header without colon");
    std::string_view name = h.substr(0, colon);
    if (!is_token(name)) return error(400, "bad header name");
    std::string_view value = trim_ows(h.substr(colon + 1));
    for (unsigned char c : value)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return error(400, "control character in header");
    switch (name.size()) {
      case 4:
        if (iequals(name, "host")) {
          if (seen_host) return error(400, "duplicate Host");
          seen_host = true;
          req.host = value;
        }
        break;
      case 5:
        if (iequals(name, "range")) req.range = value;
        break;
      case 8:
        if (iequals(name, "if-range")) req.if_range = value;
        break;
      case 10:
        if (iequals(name, "connection")) {
          if (list_has(value, "close")) connection_close = true;
          if (list_has(value, "keep-alive")) connection_keep_alive = true;
        } else if (iequals(name, "user-agent")) {
          req.user_agent = value;
        }
        break;
      case 13:
        if (iequals(name, "if-none-match")) req.if_none_match = value;
        break;
      case 14:
        if (iequals(name, "content-length")) {
          if (seen_length) return error(400, "duplicate Content-Length");
          seen_length = true;
          std::uint64_t n = 0;
          auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (value.empty() || ec != std::errc() || p != value.data() + value.size())
            return error(400, "bad Content-Length");
          if (n > 0) req.has_body = true;
        }
        break;
      case 17:
        if (iequals(name, "if-modified-since")) req.if_modified_since = value;
        else if (iequals(name, "transfer-encoding")) req.has_body = true;
        break;
      default:
        break;
    }
  }
  if (req.version_minor >= 1 && !seen_host) return error(400, "HTTP/1.1 request without Host");
  req.keep_alive = req.version_minor >= 1 ? !connection_close : (connection_keep_alive && !connection_close);
  r.status = ParseResult::Status::complete;
  r.consumed = pos;
  return r;
}

}  // namespace nocopy::serve
