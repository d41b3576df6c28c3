// In-process FileServer tests over real sockets (so they also run under
// ASan/UBSan); the end-to-end tests with curl, http.client and wrk against
// the `nocopy serve` binary are in e2e_serve.py.
#include "serve/file_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "../net/test_client.h"

namespace fs = std::filesystem;
using nocopy::net::testing::Client;
using nocopy::serve::FileServer;
using nocopy::serve::ServeOptions;

namespace {

struct Response {
  int status = 0;
  std::string head;
  std::string body;
  std::string header(const std::string& name) const {
    auto p = head.find("\r\n" + name + ": ");
    if (p == std::string::npos) return {};
    p += name.size() + 4;
    return head.substr(p, head.find("\r\n", p) - p);
  }
};

// Reads one response (Content-Length framed; HEAD: no body).
Response read_response(Client& c, bool head_request = false) {
  Response r;
  std::string buf;
  while (buf.find("\r\n\r\n") == std::string::npos) {
    std::string s = c.read_n(1);
    if (s.empty()) return r;
    buf += s;
  }
  r.head = buf;
  r.status = std::stoi(buf.substr(9, 3));
  std::string cl = r.header("Content-Length");
  if (!head_request && !cl.empty() && r.status != 304) r.body = c.read_n(std::stoull(cl));
  return r;
}

class FileServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nocopy-serve-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "root" / "sub");
    root_ = dir_ / "root";
    write(root_ / "hello.txt", "hello, world\n");
    write(root_ / "empty", "");
    write(root_ / "sub" / "index.html", "<p>sub</p>");
    write(dir_ / "secret.txt", "SECRET");
    fs::create_symlink(dir_ / "secret.txt", root_ / "escape");
    fs::create_symlink("hello.txt", root_ / "inside-link");
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(500));
    server_.reset();
    fs::remove_all(dir_);
  }
  void start(ServeOptions o = {}) {
    o.root = root_;
    o.listen = "127.0.0.1:0";
    o.access_log = false;
    server_ = std::make_unique<FileServer>(o);
    server_->start();
  }
  static void write(const fs::path& p, const std::string& s) {
    std::ofstream f(p, std::ios::binary);
    f << s;
  }
  Response get(const std::string& target, const std::string& extra = {}, const std::string& method = "GET") {
    Client c(server_->port());
    c.send_all(method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n");
    return read_response(c, method == "HEAD");
  }
  fs::path dir_, root_;
  std::unique_ptr<FileServer> server_;
};

}  // namespace

TEST_F(FileServerTest, GetHeadAndHeaders) {
  start();
  auto r = get("/hello.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello, world\n");
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_FALSE(r.header("ETag").empty());
  EXPECT_FALSE(r.header("Last-Modified").empty());
  auto h = get("/hello.txt", {}, "HEAD");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length"), "13");
  EXPECT_EQ(get("/empty").body, "");
  EXPECT_EQ(get("/empty").header("Content-Length"), "0");
  EXPECT_EQ(get("/inside-link").body, "hello, world\n");
}

TEST_F(FileServerTest, RangesAndConditionals) {
  start();
  auto r = get("/hello.txt", "Range: bytes=7-11\r\n");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "world");
  EXPECT_EQ(r.header("Content-Range"), "bytes 7-11/13");
  EXPECT_EQ(get("/hello.txt", "Range: bytes=13-\r\n").status, 416);
  EXPECT_EQ(get("/hello.txt", "Range: bytes=13-\r\n").header("Content-Range"), "bytes */13");
  auto full = get("/hello.txt");
  EXPECT_EQ(get("/hello.txt", "If-None-Match: " + full.header("ETag") + "\r\n").status, 304);
  EXPECT_EQ(get("/hello.txt", "If-None-Match: \"other\"\r\n").status, 200);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: " + full.header("Last-Modified") + "\r\n").status, 304);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n").status, 200);
}

TEST_F(FileServerTest, DirectoriesAndListing) {
  start();
  auto r = get("/sub");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("Location"), "/sub/");
  EXPECT_EQ(get("/sub/").body, "<p>sub</p>");
  EXPECT_EQ(get("/").status, 403);  // no index.html, listing off
}

TEST_F(FileServerTest, ListingWhenEnabled) {
  ServeOptions o;
  o.list = true;
  start(o);
  auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("hello.txt"), std::string::npos);
  EXPECT_NE(r.body.find("sub/"), std::string::npos);
}

TEST_F(FileServerTest, NeverServesOutsideRoot) {
  start();
  for (const char* t : {"/../secret.txt", "/%2e%2e/secret.txt", "/sub/../../secret.txt", "/escape"}) {
    auto r = get(t);
    EXPECT_TRUE(r.status == 403 || r.status == 404) << t << " -> " << r.status;
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << t;
  }
  EXPECT_EQ(get("/nope").status, 404);
  EXPECT_EQ(get("/a%00b").status, 400);
  EXPECT_EQ(get("/hello.txt", {}, "POST").status, 405);
}

TEST_F(FileServerTest, PipelinedKeepAlive) {
  start();
  Client c(server_->port());
  std::string req;
  for (int i = 0; i < 50; ++i) req += "GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n";
  req += "GET /sub/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  c.send_all(req);
  for (int i = 0; i < 50; ++i) {
    auto r = read_response(c);
    ASSERT_EQ(r.status, 200) << i;
    ASSERT_EQ(r.body, "hello, world\n");
  }
  auto last = read_response(c);
  EXPECT_EQ(last.body, "<p>sub</p>");
  EXPECT_EQ(last.header("Connection"), "close");
  bool eof = false;
  EXPECT_EQ(c.read_to_eof(&eof), "");
  EXPECT_TRUE(eof);
}

TEST_F(FileServerTest, GarbageGets400AndClose) {
  start();
  Client c(server_->port());
  c.send_all("\x16\x03\x01 garbage garbage\r\n\r\n");
  bool eof = false;
  std::string all = c.read_to_eof(&eof);
  EXPECT_TRUE(all.starts_with("HTTP/1.1 400 ")) << all;
  EXPECT_TRUE(eof);
}

TEST_F(FileServerTest, LimitsGive414And431) {
  ServeOptions o;
  o.limits.max_request_line = 1024;
  o.limits.max_header_bytes = 2048;
  start(o);
  EXPECT_EQ(get("/" + std::string(2000, 'a')).status, 414);
  EXPECT_EQ(get("/hello.txt", "X-Big: " + std::string(4000, 'b') + "\r\n").status, 431);
}

TEST_F(FileServerTest, SlowHeaderTimesOut) {
  ServeOptions o;
  o.header_timeout = std::chrono::milliseconds(300);
  start(o);
  Client c(server_->port());
  auto t0 = std::chrono::steady_clock::now();
  std::string req = "GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n";
  bool closed = false;
  for (char ch : req) {  // one byte every 50 ms: would take 1.8 s
    if (!c.send_all(std::string(1, ch))) {
      closed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(1)) break;
  }
  bool eof = false;
  std::string got = c.read_to_eof(&eof);
  EXPECT_TRUE(eof || closed);
  EXPECT_EQ(got.find("200 OK"), std::string::npos);
}

TEST_F(FileServerTest, TruncatedWhileSendingClosesAndServerSurvives) {
  // 64 MiB file; the client reads a little, the file shrinks, the transfer
  // must end (connection closed, short body), and the server keeps serving.
  const std::size_t n = 64u << 20;
  {
    int fd = ::open((root_ / "big.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(n)), 0);
    ::close(fd);
  }
  start();
  Client c(server_->port());
  c.set_rcvbuf(64 * 1024);
  c.send_all("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string first = c.read_n(256 * 1024);
  ASSERT_EQ(first.size(), 256u * 1024);
  ASSERT_EQ(::truncate((root_ / "big.bin").c_str(), 1024 * 1024), 0);
  bool eof = false;
  std::string rest = c.read_to_eof(&eof);
  EXPECT_TRUE(eof);
  EXPECT_LT(first.size() + rest.size(), n);
  EXPECT_EQ(get("/hello.txt").body, "hello, world\n");
}
