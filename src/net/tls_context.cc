#include "net/tls_context.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "io/fd.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

namespace nocopy::net {

namespace {

[[noreturn]] void fail(const std::string& what) {
  const std::string errors = openssl_errors();
  throw std::runtime_error(what + ": " + (errors.empty() ? "unknown OpenSSL error" : errors));
}

}  // namespace

TlsContext::TlsContext(TlsOptions opts) : opts_(std::move(opts)) { ctx_ = build(); }

TlsContext::~TlsContext() = default;

std::shared_ptr<SSL_CTX> TlsContext::build() const {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) fail("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  std::uint64_t options = SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION;
  if (opts_.ktls) options |= SSL_OP_ENABLE_KTLS;
  SSL_CTX_set_options(c, options);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(c, opts_.cert_file.c_str()) != 1)
    fail("TLS certificate " + opts_.cert_file);
  if (SSL_CTX_use_PrivateKey_file(c, opts_.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("TLS private key " + opts_.key_file);
  if (SSL_CTX_check_private_key(c) != 1) fail("TLS key " + opts_.key_file + " does not match " + opts_.cert_file);
  if (!opts_.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, opts_.ca_file.c_str(), nullptr) != 1) fail("TLS CA file " + opts_.ca_file);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(opts_.ca_file.c_str()))
      SSL_CTX_set_client_CA_list(c, names);
  }
  switch (opts_.client_auth) {
    case TlsOptions::ClientAuth::none: SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr); break;
    case TlsOptions::ClientAuth::requested: SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr); break;
    case TlsOptions::ClientAuth::required:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // Session resumption needs an id context when client certificates are verified.
  static const unsigned char kSidCtx[] = "nocopy";
  SSL_CTX_set_session_id_context(c, kSidCtx, sizeof kSidCtx - 1);
  return ctx;
}

void TlsContext::reload() {
  auto fresh = build();  // throws, keeping the old one
  std::lock_guard lk(mu_);
  ctx_ = std::move(fresh);
}

std::unique_ptr<TlsSession> TlsContext::new_session(int fd) {
  std::shared_ptr<SSL_CTX> ctx;
  {
    std::lock_guard lk(mu_);
    ctx = ctx_;
  }
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx.get());  // holds its own reference to the context
  if (ssl == nullptr) fail("SSL_new");
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    fail("SSL_set_fd");
  }
  SSL_set_accept_state(ssl);
  return std::make_unique<TlsSession>(ssl);
}

KtlsSupport TlsContext::probe_ktls() {
  KtlsSupport s;
  auto sys = [&](const char* call) {
    s.reason = std::string(call) + ": " + std::strerror(errno);
    return s;
  };
  io::Fd lst(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!lst) return sys("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(lst.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return sys("bind");
  if (::listen(lst.get(), 1) != 0) return sys("listen");
  if (::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return sys("getsockname");
  io::Fd cli(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!cli) return sys("socket");
  if (::connect(cli.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return sys("connect");
  if (::setsockopt(cli.get(), SOL_TCP, TCP_ULP, "tls", 3) != 0) return sys("setsockopt(TCP_ULP, \"tls\")");
  s.available = true;
  return s;
}

}  // namespace nocopy::net
