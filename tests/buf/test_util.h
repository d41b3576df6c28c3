// Helpers for the buf tests: temp files with known bytes, loopback TCP pairs.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>

#include "io/fd.h"
#include "io/file.h"

namespace nocopy::buf::test {

inline bool under_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

inline std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A file in the temp dir holding `content`, unlinked when the object dies
// (regions keep the open File usable after that).
struct TempFile {
  std::filesystem::path path;
  std::shared_ptr<const io::File> file;

  explicit TempFile(const std::string& content) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nocopy-buf-XXXXXX").string();
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp");
    path = tmpl;
    io::File f(io::Fd(fd), path);
    auto w = f.pwrite_full(std::as_bytes(std::span(content.data(), content.size())), 0);
    if (!w) throw std::runtime_error(w.error().message());
    file = std::make_shared<const io::File>(std::move(f));
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

inline void set_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    throw std::system_error(errno, std::generic_category(), "fcntl");
}

// A connected TCP pair over 127.0.0.1 on a port the kernel picks.
struct TcpPair {
  io::Fd client;  // the sending side in the tests
  io::Fd server;  // the accepted, receiving side

  static TcpPair make(int sndbuf = 0, int rcvbuf = 0) {
    io::Fd lst(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!lst) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(lst.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::system_error(errno, std::generic_category(), "bind");
    if (::listen(lst.get(), 1) != 0)
      throw std::system_error(errno, std::generic_category(), "listen");
    socklen_t al = sizeof a;
    ::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&a), &al);

    TcpPair p;
    p.client = io::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sndbuf > 0) ::setsockopt(p.client.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (::connect(p.client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::system_error(errno, std::generic_category(), "connect");
    p.server = io::Fd(::accept4(lst.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!p.server) throw std::system_error(errno, std::generic_category(), "accept4");
    if (rcvbuf > 0) ::setsockopt(p.server.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    return p;
  }
};

}  // namespace nocopy::buf::test
