// TlsContext: the server's TLS configuration for SSL and SASL_SSL
// listeners (OpenSSL 3): certificate chain and private key (PEM), optional
// client authentication against a CA file (mTLS), TLS 1.2 and 1.3, and
// kernel TLS requested (SSL_OP_ENABLE_KTLS: OpenSSL moves the record layer
// into the kernel after the handshake when the kernel has the TLS ULP and
// the cipher allows it).
//
// reload() re-reads the files (SIGHUP): new connections use the new
// context, existing ones keep theirs (each SSL holds a reference). A
// reload that fails keeps the old context and throws.
//
// probe_ktls() says whether this kernel offers the TLS ULP, by trying
// setsockopt(TCP_ULP, "tls") on a connected loopback socket -- the same
// thing OpenSSL does per connection.
//
// Errors at construction / reload throw std::runtime_error with OpenSSL's
// error text and the file. new_session() is thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "net/tls_session.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace nocopy::net {

struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;  // verify client certificates against these
  enum class ClientAuth { none, requested, required } client_auth = ClientAuth::none;
  bool ktls = true;     // ask OpenSSL for kernel TLS
};

struct KtlsSupport {
  bool available = false;
  std::string reason;  // why not, e.g. "setsockopt(TCP_ULP, \"tls\"): No such file or directory"
};

class TlsContext {
 public:
  explicit TlsContext(TlsOptions opts);
  ~TlsContext();

  void reload();
  // A session for an accepted socket (server side, handshake not started).
  std::unique_ptr<TlsSession> new_session(int fd);
  const TlsOptions& options() const { return opts_; }

  static KtlsSupport probe_ktls();

 private:
  std::shared_ptr<SSL_CTX> build() const;

  TlsOptions opts_;
  std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;
};

}  // namespace nocopy::net
