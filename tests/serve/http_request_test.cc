#include "serve/http_request.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

using nocopy::serve::HttpLimits;
using nocopy::serve::parse_request;
using Status = nocopy::serve::ParseResult::Status;

TEST(HttpRequest, SimpleGet) {
  std::string s = "GET /a/b.txt?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nIf-None-Match: \"x\"\r\n\r\n";
  auto r = parse_request(s, {});
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.consumed, s.size());
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.target, "/a/b.txt?x=1");
  EXPECT_EQ(r.request.host, "h");
  EXPECT_EQ(r.request.range, "bytes=0-1");
  EXPECT_EQ(r.request.if_none_match, "\"x\"");
  EXPECT_TRUE(r.request.keep_alive);
  EXPECT_EQ(r.request.request_line(), "GET /a/b.txt?x=1 HTTP/1.1");
}

TEST(HttpRequest, EveryPrefixIsIncompleteThenComplete) {
  std::string s = "HEAD /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  for (std::size_t i = 0; i < s.size(); ++i)
    EXPECT_EQ(parse_request(std::string_view(s).substr(0, i), {}).status, Status::incomplete) << i;
  auto r = parse_request(s, {});
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_FALSE(r.request.keep_alive);
}

TEST(HttpRequest, PipelinedConsumesOnlyFirst) {
  std::string one = "GET /1 HTTP/1.1\nHost: a\n\n";  // bare LF accepted
  std::string two = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  auto r = parse_request(one + two, {});
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.consumed, one.size());
  auto r2 = parse_request(std::string_view(one + two).substr(r.consumed), {});
  ASSERT_EQ(r2.status, Status::complete);
  EXPECT_EQ(r2.request.target, "/2");
}

TEST(HttpRequest, Http10KeepAliveRules) {
  auto a = parse_request("GET / HTTP/1.0\r\n\r\n", {});
  ASSERT_EQ(a.status, Status::complete);
  EXPECT_FALSE(a.request.keep_alive);
  auto b = parse_request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", {});
  EXPECT_TRUE(b.request.keep_alive);
  auto c = parse_request("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n", {});
  EXPECT_FALSE(c.request.keep_alive);
}

TEST(HttpRequest, Errors) {
  struct Case {
    std::string in;
    int status;
  } cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"\x16\x03\x01\x02\x00", 400},  // a TLS hello: detected before any newline
      {"GET /\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", 400},
      {std::string("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 30), 400},
      {std::string("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 27), 400},
      {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    auto r = parse_request(c.in, {});
    EXPECT_EQ(r.status, Status::error) << c.in;
    EXPECT_EQ(r.http_status, c.status) << c.in;
  }
}

TEST(HttpRequest, Limits) {
  HttpLimits lim;
  lim.max_request_line = 100;
  lim.max_header_bytes = 200;
  lim.max_headers = 5;
  std::string long_line = "GET /" + std::string(200, 'a');
  EXPECT_EQ(parse_request(long_line, lim).http_status, 414);  // no newline yet, already too long
  EXPECT_EQ(parse_request(long_line + " HTTP/1.1\r\n", lim).http_status, 414);
  std::string big_header = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'b');
  EXPECT_EQ(parse_request(big_header, lim).http_status, 431);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 6; ++i) many += "X" + std::to_string(i) + ": y\r\n";
  EXPECT_EQ(parse_request(many + "\r\n", lim).http_status, 431);
}

TEST(HttpRequest, BodyMarksHasBody) {
  auto r = parse_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", {});
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_TRUE(r.request.has_body);
  auto t = parse_request("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", {});
  EXPECT_TRUE(t.request.has_body);
}

// Random bytes and random mutations of a valid request never crash, and a
// "complete" result always consumes a prefix ending in an empty line.
TEST(HttpRequest, RandomInputsAreSafe) {
#if defined(__SANITIZE_ADDRESS__)
  const int iters = 20000;
#else
  const int iters = 200000;
#endif
  std::mt19937 rng(12345);
  const std::string base = "GET /index.html HTTP/1.1\r\nHost: localhost\r\nRange: bytes=1-2\r\n\r\n";
  HttpLimits lim;
  lim.max_request_line = 64;
  lim.max_header_bytes = 128;
  for (int i = 0; i < iters; ++i) {
    std::string s = base;
    int muts = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < muts; ++m) {
      std::size_t p = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0: if (p < s.size()) s[p] = static_cast<char>(rng()); break;
        case 1: s.insert(p, 1, static_cast<char>(rng())); break;
        case 2: if (p < s.size()) s.erase(p, 1); break;
      }
    }
    auto r = parse_request(s, lim);
    if (r.status == Status::complete) {
      ASSERT_LE(r.consumed, s.size());
      ASSERT_EQ(s[r.consumed - 1], '\n');
    } else if (r.status == Status::error) {
      ASSERT_TRUE(r.http_status == 400 || r.http_status == 414 || r.http_status == 431 || r.http_status == 505);
    }
  }
}
