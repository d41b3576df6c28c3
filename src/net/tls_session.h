// TlsSession: the TLS state of one server-side connection (OpenSSL 3, an
// SSL* on the connection's socket). The Connection reads through it
// (read(): decrypts, and drives the handshake) and writes through it as an
// io::ByteSink.
//
// Two send paths, chosen per connection once the handshake is done:
//  * kernel TLS (kernel_send()): OpenSSL switched the socket to the
//    kernel's TLS ULP (SSL_OP_ENABLE_KTLS); memory is written with
//    SSL_write (the kernel encrypts), file regions go out with SSL_sendfile
//    -- page cache to socket, no user-space copy (can_send_file()).
//  * user space: SSL_write encrypts in OpenSSL; file regions must be read
//    into memory first (buf::ChainSender counts those bytes as copied).
//
// Writes: at most one TLS record (16 KiB) per SSL_write. When OpenSSL
// reports WANT_WRITE it keeps the half-sent record and requires the same
// bytes again, so the session copies them and retries them itself
// (flush_pending()); they count as accepted. The Connection keeps waiting
// for EPOLLOUT while has_pending().
//
// Errors name the OpenSSL call and carry OpenSSL's error text. A peer that
// closes without close_notify is treated as EOF (SSL_OP_IGNORE_UNEXPECTED_EOF).
// Thread-safety: the connection's loop thread only.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "io/byte_sink.h"

namespace nocopy::net {

// OpenSSL's error queue of this thread, drained: every entry's text, joined
// by "; " ("" when it was empty).
std::string openssl_errors();

class TlsSession final : public io::ByteSink {
 public:
  // Adopts `ssl` (already bound to the socket, in accept state).
  explicit TlsSession(SSL* ssl);
  ~TlsSession() override;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  struct ReadResult {
    std::size_t bytes = 0;    // plaintext delivered into the buffer
    bool want_read = false;   // nothing more until the socket is readable
    bool want_write = false;  // the handshake must write first (wait for EPOLLOUT)
    bool eof = false;         // close_notify or the peer closed
  };
  io::Result<ReadResult> read(std::span<std::byte> buf);
  // Decrypted or undecrypted bytes OpenSSL holds already (epoll cannot tell).
  bool has_buffered_input() const;
  bool handshake_done() const;
  bool kernel_send() const { return ktls_send_; }
  const char* path() const { return ktls_send_ ? "kTLS" : "user-space TLS"; }

  io::Result<io::Progress> write(std::span<const std::byte> bytes) override;
  bool can_send_file() const override { return ktls_send_; }
  io::Result<io::Progress> send_file(int fd, off_t offset, std::size_t length) override;

  // Retries a record OpenSSL could not finish: true when none is left.
  io::Result<bool> flush_pending();
  bool has_pending() const { return !pending_.empty(); }
  // Best-effort close_notify (non-blocking; never fails the close).
  void shutdown();
  // The client certificate's subject in RFC 2253 form ("CN=alice,O=Example"),
  // as Kafka names an mTLS principal; "" without one.
  std::string peer_subject() const;

 private:
  void after_handshake();

  SSL* ssl_;
  bool done_handshake_ = false;
  bool ktls_send_ = false;
  std::vector<std::byte> pending_;  // record bytes to retry after WANT_WRITE
};

}  // namespace nocopy::net
