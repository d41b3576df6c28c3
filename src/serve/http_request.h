// HTTP/1.1 request head parser: a pure function over bytes (no I/O, no
// allocation beyond the returned strings), safe on any input -- it is what a
// fuzzer drives.
//
// parse_request(data, limits) looks at the start of `data` (the unconsumed
// bytes of a connection) and returns one of:
//   * incomplete: no full head yet and nothing wrong so far -- read more;
//   * complete:   `consumed` bytes form one request head (request line +
//                 headers + empty line); pipelined requests follow;
//   * error:      `http_status` is the answer (400 bad syntax, 414 request
//                 line over the limit, 431 header block over the limit or too
//                 many headers, 505 not HTTP/1.x); the connection must be
//                 closed after answering (we cannot know where the next
//                 request starts).
// Garbage is detected as early as possible: a partial request line whose
// method contains a non-token byte is an error before its newline arrives.
//
// Accepted: CRLF or bare LF line ends; empty lines before the request line
// (RFC 9112 2.2). Rejected: obs-fold continuation lines, control characters
// (including NUL) in the target or header values, duplicate Host or
// Content-Length, a non-numeric Content-Length.
// Request bodies are not read: `has_body` is set (Content-Length > 0 or any
// Transfer-Encoding) and the server closes the connection after answering.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nocopy::serve {

struct HttpLimits {
  std::size_t max_request_line = 8192;   // bytes, excluding the line end -> 414
  std::size_t max_header_bytes = 16384;  // header lines after the request line -> 431
  std::size_t max_headers = 100;         // -> 431
};

struct HttpRequest {
  std::string method;  // as sent (case-sensitive per RFC 9110)
  std::string target;  // raw request-target
  int version_minor = 1;  // HTTP/1.<minor>
  std::string host;
  std::string range;
  std::string if_modified_since;
  std::string if_none_match;
  std::string if_range;
  std::string user_agent;
  bool keep_alive = true;
  bool has_body = false;
  std::string request_line() const;  // "GET /x HTTP/1.1" for the access log
};

struct ParseResult {
  enum class Status { incomplete, complete, error };
  Status status = Status::incomplete;
  std::size_t consumed = 0;
  int http_status = 0;
  const char* reason = "";  // why an error, for the log
  HttpRequest request;
};

ParseResult parse_request(std::string_view data, const HttpLimits& limits);

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

}  // namespace nocopy::serve
