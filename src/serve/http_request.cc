#include "serve/http_request.h"

#include <charconv>
#include <cstdint>
#include <optional>

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

namespace {

using Failure = std::optional<ParseResult>;  // nullopt: fine so far

// A request line without its newline yet: garbage is refused early (the
// method must be a token), an overlong line at once.
Failure check_partial_request_line(std::string_view partial, const HttpLimits& limits) {
  auto sp = partial.find(' ');
  std::string_view m = partial.substr(0, sp);
  for (unsigned char c : m)
    if (!is_tchar(c) && c != '\r') return error(400, "bad method");
  if (sp == std::string_view::npos && m.size() > 32) return error(400, "method too long");
  if (partial.size() > limits.max_request_line) return error(414, "request line too long");
  return std::nullopt;
}

// "METHOD target HTTP/1.x", without its line end.
Failure parse_request_line(std::string_view line, HttpRequest& req) {
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
  return std::nullopt;
}

// What the header lines tell beyond the fields of HttpRequest.
struct HeaderState {
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool seen_host = false;
  bool seen_length = false;
  std::size_t count = 0;
};

Failure parse_content_length(std::string_view value, HttpRequest& req, HeaderState& st) {
  if (st.seen_length) return error(400, "duplicate Content-Length");
  st.seen_length = true;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size()) return error(400, "bad Content-Length");
  if (n > 0) req.has_body = true;
  return std::nullopt;
}

// One header the server uses (switch on the name's length first: most
// headers are compared with nothing).
Failure apply_header(std::string_view name, std::string_view value, HttpRequest& req, HeaderState& st) {
  switch (name.size()) {
    case 4:
      if (iequals(name, "host")) {
        if (st.seen_host) return error(400, "duplicate Host");
        st.seen_host = true;
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
        if (list_has(value, "close")) st.connection_close = true;
        if (list_has(value, "keep-alive")) st.connection_keep_alive = true;
      } else if (iequals(name, "user-agent")) {
        req.user_agent = value;
      }
      break;
    case 13:
      if (iequals(name, "if-none-match")) req.if_none_match = value;
      break;
    case 14:
      if (iequals(name, "content-length")) return parse_content_length(value, req, st);
      break;
    case 17:
      if (iequals(name, "if-modified-since")) req.if_modified_since = value;
      else if (iequals(name, "transfer-encoding")) req.has_body = true;
      break;
    default:
      break;
  }
  return std::nullopt;
}

// One header line (not empty, without its line end).
Failure parse_header_line(std::string_view h, const HttpLimits& limits, HttpRequest& req, HeaderState& st) {
  if (++st.count > limits.max_headers) return error(431, "too many headers");
  if (h.front() == ' ' || h.front() == '\t') return error(400, "obsolete line folding");
  auto colon = h.find(':');
  if (colon == std::string_view::npos) return error(400, "header without colon");
  std::string_view name = h.substr(0, colon);
  if (!is_token(name)) return error(400, "bad header name");
  std::string_view value = trim_ows(h.substr(colon + 1));
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return error(400, "control character in header");
  return apply_header(name, value, req, st);
}

// A header line without its newline yet: a NUL or other control byte in it
// is already garbage.
Failure check_partial_header_line(std::string_view partial) {
  for (unsigned char c : partial)
    if (c == 0 || (c < 0x20 && c != '\t' && c != '\r')) return error(400, "control character in header");
  return std::nullopt;
}

}  // namespace

ParseResult parse_request(std::string_view data, const HttpLimits& limits) {
  std::size_t pos = 0;
  // RFC 9112 2.2: ignore at least one empty line before the request line.
  std::size_t skipped = 0;
  while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) {
    ++pos;
    if (++skipped > 8) return error(400, "too many empty lines before the request");
  }
  const std::size_t nl = data.find('\n', pos);
  if (nl == std::string_view::npos) return check_partial_request_line(data.substr(pos), limits).value_or(ParseResult{});
  std::string_view line = data.substr(pos, nl - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits.max_request_line) return error(414, "request line too long");

  ParseResult r;
  HttpRequest& req = r.request;
  if (auto f = parse_request_line(line, req)) return std::move(*f);

  HeaderState st;
  pos = nl + 1;
  const std::size_t headers_start = pos;
  for (;;) {
    const std::size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) {
      if (data.size() - headers_start > limits.max_header_bytes) return error(431, "header block too large");
      return check_partial_header_line(data.substr(pos)).value_or(ParseResult{});
    }
    if (eol + 1 - headers_start > limits.max_header_bytes) return error(431, "header block too large");
    std::string_view h = data.substr(pos, eol - pos);
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    pos = eol + 1;
    if (h.empty()) break;
    if (auto f = parse_header_line(h, limits, req, st)) return std::move(*f);
  }
  if (req.version_minor >= 1 && !st.seen_host) return error(400, "HTTP/1.1 request without Host");
  req.keep_alive = req.version_minor >= 1 ? !st.connection_close : (st.connection_keep_alive && !st.connection_close);
  r.status = ParseResult::Status::complete;
  r.consumed = pos;
  return r;
}

}  // namespace nocopy::serve
