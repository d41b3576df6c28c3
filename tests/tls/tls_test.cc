// TlsContext / TlsSession: a handshake and both directions against
// OpenSSL's client over loopback TCP (user-space TLS or kTLS, whichever the
// kernel gives), and the kTLS path itself, skipped with the kernel's reason
// where it has no TLS ULP.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "net/tls_context.h"

namespace nocopy::net {
namespace {

std::filesystem::path make_cert() {
  auto dir = std::filesystem::temp_directory_path() / ("nocopy-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                    (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return {};
  return dir;
}

struct Pair {
  int server = -1, client = -1;
};

Pair tcp_pair() {
  int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(l, 1);
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  Pair p;
  p.client = ::socket(AF_INET, SOCK_STREAM, 0);
  ::connect(p.client, reinterpret_cast<sockaddr*>(&a), sizeof a);
  p.server = ::accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ::close(l);
  return p;
}

// Server side: non-blocking, driven by poll, as the Connection drives it.
bool serve_echo(TlsSession& s, int fd, std::string& got, std::size_t want) {
  std::byte buf[4096];
  for (int i = 0; i < 2000 && got.size() < want; ++i) {
    auto r = s.read(buf);
    if (!r) return false;
    if (r->eof) return false;
    got.append(reinterpret_cast<char*>(buf), r->bytes);
    if (r->bytes == 0) {
      pollfd p{fd, static_cast<short>(r->want_write ? POLLOUT : POLLIN), 0};
      ::poll(&p, 1, 100);
    }
  }
  std::size_t sent = 0;
  while (sent < got.size()) {
    auto w = s.write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(got.data()) + sent, got.size() - sent));
    if (!w) return false;
    sent += w->bytes;
    while (s.has_pending()) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      auto f = s.flush_pending();
      if (!f) return false;
    }
  }
  return true;
}

// Client side, blocking, OpenSSL's own: a handshake over `fd`, `msg` written,
// then read back until as many bytes came (or the connection ended); what
// came back. `ciphersuites`: the TLS 1.3 suites offered (null: OpenSSL's).
std::string client_echo(int fd, const std::string& msg, const char* ciphersuites = nullptr) {
  SSL_CTX* c = SSL_CTX_new(TLS_client_method());
  if (ciphersuites) SSL_CTX_set_ciphersuites(c, ciphersuites);
  SSL* ssl = SSL_new(c);
  SSL_set_fd(ssl, fd);
  std::string back;
  if (SSL_connect(ssl) == 1) {
    std::size_t n = 0;
    SSL_write_ex(ssl, msg.data(), msg.size(), &n);
    char buf[16384];
    while (back.size() < msg.size() && SSL_read_ex(ssl, buf, sizeof buf, &n) == 1) back.append(buf, n);
  }
  SSL_free(ssl);
  SSL_CTX_free(c);
  return back;
}

TEST(Tls, HandshakeAndEchoAgainstOpenSslClient) {
  auto dir = make_cert();
  ASSERT_FALSE(dir.empty()) << "openssl req failed";
  TlsOptions o;
  o.cert_file = (dir / "cert.pem").string();
  o.key_file = (dir / "key.pem").string();
  TlsContext ctx(o);
  auto p = tcp_pair();
  auto session = ctx.new_session(p.server);
  const std::string msg(100'000, 'x');
  std::string echoed;
  std::thread client([&] { echoed = client_echo(p.client, msg); });
  std::string got;
  EXPECT_TRUE(serve_echo(*session, p.server, got, msg.size()));
  client.join();
  EXPECT_TRUE(session->handshake_done());
  EXPECT_EQ(got, msg);
  EXPECT_EQ(echoed, msg);
  std::printf("send path: %s\n", session->path());
  session.reset();
  ::close(p.server);
  ::close(p.client);
  std::filesystem::remove_all(dir);
}

TEST(Tls, BadCertificateFileThrows) {
  TlsOptions o;
  o.cert_file = "/nonexistent/cert.pem";
  o.key_file = "/nonexistent/key.pem";
  EXPECT_THROW(TlsContext{o}, std::runtime_error);
}

TEST(Tls, KernelTlsPathWhenTheKernelOffersIt) {
  auto k = TlsContext::probe_ktls();
  if (!k.available) GTEST_SKIP() << "kernel has no TLS ULP: " << k.reason;
  auto dir = make_cert();
  ASSERT_FALSE(dir.empty());
  TlsOptions o;
  o.cert_file = (dir / "cert.pem").string();
  o.key_file = (dir / "key.pem").string();
  TlsContext ctx(o);
  auto p = tcp_pair();
  auto session = ctx.new_session(p.server);
  const std::string msg(1000, 'k');
  std::thread client([&] { client_echo(p.client, msg, "TLS_AES_128_GCM_SHA256"); });
  std::string got;
  EXPECT_TRUE(serve_echo(*session, p.server, got, msg.size()));
  client.join();
  EXPECT_TRUE(session->kernel_send()) << "kernel offers the TLS ULP but OpenSSL did not enable kTLS send";
  EXPECT_TRUE(session->can_send_file());
  session.reset();
  ::close(p.server);
  ::close(p.client);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nocopy::net
