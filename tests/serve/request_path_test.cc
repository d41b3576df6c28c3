#include "serve/request_path.h"

#include <gtest/gtest.h>

#include "serve/byte_range.h"
#include "serve/http_date.h"
#include "serve/mime_types.h"

using namespace nocopy::serve;

TEST(RequestPath, Normalises) {
  auto p = resolve_target("/a/b%20c/?q=1");
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.relative, "a/b c");
  EXPECT_TRUE(p.trailing_slash);
  EXPECT_EQ(resolve_target("//etc/./passwd").relative, "etc/passwd");
  EXPECT_EQ(resolve_target("/").relative, "");
  EXPECT_EQ(resolve_target("http://host:80/x/y").relative, "x/y");
  EXPECT_EQ(resolve_target("http://host").relative, "");
  EXPECT_EQ(resolve_target("/a#frag").relative, "a");
}

TEST(RequestPath, RefusesEscapes) {
  EXPECT_EQ(resolve_target("/../etc/passwd").status, 403);
  EXPECT_EQ(resolve_target("/a/../../x").status, 403);
  EXPECT_EQ(resolve_target("/%2e%2e/etc/passwd").status, 403);
  EXPECT_EQ(resolve_target("/%2E%2E%2fetc").status, 403);
  EXPECT_EQ(resolve_target("/.%2e/x").status, 403);
  EXPECT_EQ(resolve_target("/a%00b").status, 400);
  EXPECT_EQ(resolve_target("/a%zz").status, 400);
  EXPECT_EQ(resolve_target("/a%2").status, 400);
  EXPECT_EQ(resolve_target("/a%").status, 400);
  EXPECT_EQ(resolve_target("etc/passwd").status, 400);
  EXPECT_EQ(resolve_target("*").status, 400);
}

TEST(ByteRange, Parses) {
  auto r = parse_range("bytes=0-0", 10);
  ASSERT_EQ(r.kind, ByteRange::Kind::satisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length(), 1u);
  r = parse_range("bytes=5-", 10);
  EXPECT_EQ(r.first, 5u);
  EXPECT_EQ(r.last, 9u);
  r = parse_range("bytes=-3", 10);
  EXPECT_EQ(r.first, 7u);
  EXPECT_EQ(r.last, 9u);
  r = parse_range("bytes=-30", 10);
  EXPECT_EQ(r.first, 0u);
  r = parse_range("bytes=2-1000", 10);
  EXPECT_EQ(r.last, 9u);
  EXPECT_EQ(parse_range("bytes=10-", 10).kind, ByteRange::Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, ByteRange::Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 10).kind, ByteRange::Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-1,3-4", 10).kind, ByteRange::Kind::none);
  EXPECT_EQ(parse_range("bytes=5-2", 10).kind, ByteRange::Kind::none);
  EXPECT_EQ(parse_range("items=0-1", 10).kind, ByteRange::Kind::none);
  EXPECT_EQ(parse_range("bytes=a-b", 10).kind, ByteRange::Kind::none);
  const std::uint64_t big = (5ull << 30) + 7;
  r = parse_range("bytes=-10", big);
  EXPECT_EQ(r.first, big - 10);
}

TEST(HttpDate, RoundTripAndFormats) {
  EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_FALSE(parse_http_date("yesterday").has_value());
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
  EXPECT_EQ(format_clf_time(784111777), "06/Nov/1994:08:49:37 +0000");
}

TEST(MimeTypes, ByExtension) {
  EXPECT_EQ(content_type_for("a/index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("x.png"), "image/png");
  EXPECT_EQ(content_type_for("noext"), "application/octet-stream");
  EXPECT_EQ(content_type_for(".bashrc"), "application/octet-stream");
  EXPECT_EQ(content_type_for("dir.d/file"), "application/octet-stream");
}
