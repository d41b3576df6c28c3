#include "net/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>

namespace nocopy::net {

namespace {

constexpr std::size_t kMaxRecord = 16 * 1024;

// Maps an SSL_get_error() outcome that is neither success nor WANT_* to an IoError.
io::IoError tls_error(int err, const char* call) {
  if (err == SSL_ERROR_SYSCALL) {
    const int e = errno ? errno : ECONNRESET;
    return io::IoError{e, call, openssl_errors()};
  }
  return io::IoError{EPROTO, call, openssl_errors()};
}

}  // namespace

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

TlsSession::TlsSession(SSL* ssl) : ssl_(ssl) {}

TlsSession::~TlsSession() { SSL_free(ssl_); }

bool TlsSession::handshake_done() const { return done_handshake_; }

bool TlsSession::has_buffered_input() const { return SSL_has_pending(ssl_) == 1; }

void TlsSession::after_handshake() {
  if (done_handshake_ || !SSL_is_init_finished(ssl_)) return;
  done_handshake_ = true;
  ktls_send_ = BIO_get_ktls_send(SSL_get_wbio(ssl_)) == 1;
}

io::Result<TlsSession::ReadResult> TlsSession::read(std::span<std::byte> buf) {
  ReadResult r;
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int rc = SSL_read_ex(ssl_, buf.data(), buf.size(), &n);
  after_handshake();
  if (rc == 1) {
    r.bytes = n;
    return r;
  }
  const int err = SSL_get_error(ssl_, rc);
  switch (err) {
    case SSL_ERROR_WANT_READ: r.want_read = true; return r;
    case SSL_ERROR_WANT_WRITE: r.want_write = true; return r;
    case SSL_ERROR_ZERO_RETURN: r.eof = true; return r;
    case SSL_ERROR_SYSCALL:
      if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
        r.eof = true;
        return r;
      }
      [[fallthrough]];
    default: return std::unexpected(tls_error(err, done_handshake_ ? "SSL_read" : "SSL handshake"));
  }
}

io::Result<bool> TlsSession::flush_pending() {
  if (pending_.empty()) return true;
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int rc = SSL_write_ex(ssl_, pending_.data(), pending_.size(), &n);
  if (rc == 1) {
    // One record at most was pending, so OpenSSL finished all of it.
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(std::min(n, pending_.size())));
    return pending_.empty();
  }
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return false;
  return std::unexpected(tls_error(err, "SSL_write"));
}

io::Result<io::Progress> TlsSession::write(std::span<const std::byte> bytes) {
  auto done = flush_pending();
  if (!done) return std::unexpected(std::move(done.error()));
  if (!*done) return io::Progress{0, true};
  if (bytes.empty()) return io::Progress{0, false};
  const std::size_t want = std::min(bytes.size(), kMaxRecord);
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int rc = SSL_write_ex(ssl_, bytes.data(), want, &n);
  if (rc == 1) return io::Progress{n, false};
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
    // OpenSSL holds a record made of these bytes: it must be retried with
    // the same ones, so keep them and call them sent.
    pending_.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(want));
    return io::Progress{want, true};
  }
  return std::unexpected(tls_error(err, "SSL_write"));
}

io::Result<io::Progress> TlsSession::send_file(int fd, off_t offset, std::size_t length) {
  auto done = flush_pending();
  if (!done) return std::unexpected(std::move(done.error()));
  if (!*done) return io::Progress{0, true};
  ERR_clear_error();
  errno = 0;
  const ossl_ssize_t n = SSL_sendfile(ssl_, fd, offset, length, 0);
  if (n > 0) return io::Progress{static_cast<std::size_t>(n), false};
  const int err = SSL_get_error(ssl_, static_cast<int>(n));
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ || errno == EAGAIN) return io::Progress{0, true};
  return std::unexpected(tls_error(err, "SSL_sendfile"));
}

void TlsSession::shutdown() {
  if (!done_handshake_) return;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsSession::peer_subject() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  std::string out;
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
  }
  BIO_free(bio);
  return out;
}

}  // namespace nocopy::net
