#include "replication/leader_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "kafka/messages.h"
#include "security/scram_client.h"

namespace nocopy::replication {

namespace {
std::int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// A fetch answer is bounded by its max_bytes (plus one batch larger than
// that, KIP-74, itself bounded by max.message.bytes).
constexpr std::uint32_t kMaxFrame = 96u << 20;
}  // namespace

void LeaderClient::close() { fd_.reset(); }

void LeaderClient::fail(std::string why) {
  error_ = std::move(why);
  fd_.reset();
}

bool LeaderClient::wait(short events, std::int64_t deadline_ms) {
  for (;;) {
    const std::int64_t left = deadline_ms - mono_ms();
    if (left <= 0) {
      fail("timed out waiting for the leader");
      return false;
    }
    pollfd p{fd_.get(), events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fail(fmt::format("poll: {}", std::strerror(errno)));
      return false;
    }
    if (n > 0) return true;  // ready, or an error the next send/recv reports
  }
}

bool LeaderClient::connect(const std::string& host, std::uint16_t port, int timeout_ms) {
  fd_.reset();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    error_ = fmt::format("resolve {}: {}", host, ::gai_strerror(rc));
    return false;
  }
  const std::int64_t deadline = mono_ms() + timeout_ms;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    io::Fd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!s) continue;
    int rc;
    do {
      rc = ::connect(s.get(), a->ai_addr, a->ai_addrlen);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EINPROGRESS) {
      error_ = fmt::format("connect {}:{}: {}", host, port, std::strerror(errno));
      continue;
    }
    fd_ = std::move(s);
    if (rc < 0) {
      if (!wait(POLLOUT, deadline)) continue;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        error_ = fmt::format("connect {}:{}: {}", host, port, std::strerror(err));
        fd_.reset();
        continue;
      }
    }
    int one = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(res);
    return true;
  }
  ::freeaddrinfo(res);
  return false;
}

bool LeaderClient::send_all(const std::vector<std::byte>& bytes, int timeout_ms) {
  if (!fd_) {
    error_ = "not connected";
    return false;
  }
  const std::int64_t deadline = mono_ms() + timeout_ms;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait(POLLOUT, deadline)) return false;
    } else {
      fail(fmt::format("send to the leader: {}", n == 0 ? "no progress" : std::strerror(errno)));
      return false;
    }
  }
  return true;
}

bool LeaderClient::recv_exact(std::byte* dst, std::size_t len, std::int64_t deadline_ms) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::recv(fd_.get(), dst + done, len - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n == 0) {
      fail("the leader closed the connection");
      return false;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait(POLLIN, deadline_ms)) return false;
    } else {
      fail(fmt::format("recv from the leader: {}", std::strerror(errno)));
      return false;
    }
  }
  return true;
}

bool LeaderClient::read_frame(std::vector<std::byte>& frame, int timeout_ms) {
  const std::int64_t deadline = mono_ms() + timeout_ms;
  std::byte size_be[4];
  if (!recv_exact(size_be, 4, deadline)) return false;
  const std::uint32_t size = (std::to_integer<std::uint32_t>(size_be[0]) << 24) |
                             (std::to_integer<std::uint32_t>(size_be[1]) << 16) |
                             (std::to_integer<std::uint32_t>(size_be[2]) << 8) | std::to_integer<std::uint32_t>(size_be[3]);
  if (size > kMaxFrame) {
    fail(fmt::format("response of {} bytes from the leader exceeds {}", size, kMaxFrame));
    return false;
  }
  frame.resize(size);
  return recv_exact(frame.data(), size, deadline);
}

}  // namespace nocopy::replication

namespace nocopy::replication {

bool LeaderClient::connect_to(const BrokerEndpoint& broker, const InterBrokerAuth& auth, int timeout_ms) {
  const auto addr = broker.address_for(auth.listener);
  if (!connect(addr.host, addr.port, timeout_ms)) return false;
  return auth.mechanism.empty() || authenticate(auth.mechanism, auth.user, auth.password, timeout_ms);
}

bool LeaderClient::sasl_round(const std::string& token, std::string& reply, int timeout_ms) {
  kafka::SaslAuthenticateRequest req;
  req.auth_bytes.resize(token.size());
  std::memcpy(req.auth_bytes.data(), token.data(), token.size());
  kafka::SaslAuthenticateResponse res;
  std::vector<std::byte> frame;
  if (!call(req, 1, res, frame, timeout_ms)) return false;
  if (res.error_code != 0) {
    fail(fmt::format("SASL authentication refused by the leader (error {}): {}", res.error_code,
                     res.error_message.value_or("")));
    return false;
  }
  reply.assign(reinterpret_cast<const char*>(res.auth_bytes.data()), res.auth_bytes.size());
  return true;
}

bool LeaderClient::authenticate(const std::string& mechanism, const std::string& user, const std::string& password,
                                int timeout_ms) {
  kafka::SaslHandshakeRequest hs;
  hs.mechanism = mechanism;
  kafka::SaslHandshakeResponse hr;
  std::vector<std::byte> frame;
  if (!call(hs, 1, hr, frame, timeout_ms)) return false;
  if (hr.error_code != 0) {
    fail(fmt::format("the leader refuses SASL mechanism {} (error {})", mechanism, hr.error_code));
    return false;
  }
  std::string reply;
  if (mechanism == "PLAIN") return sasl_round(std::string(1, '\0') + user + '\0' + password, reply, timeout_ms);
  const auto m = security::parse_scram_mechanism(mechanism);
  if (m == security::ScramMechanism::unknown) {
    fail("unknown SASL mechanism " + mechanism);
    return false;
  }
  security::ScramClient scram(m, user, password);
  if (!sasl_round(scram.first(), reply, timeout_ms)) return false;
  const auto final_msg = scram.final_message(reply);
  if (final_msg.empty()) {
    fail("SCRAM with the leader: " + scram.error());
    return false;
  }
  if (!sasl_round(final_msg, reply, timeout_ms)) return false;
  if (!scram.finish(reply)) {
    fail("SCRAM with the leader: " + scram.error());
    return false;
  }
  return true;
}

}  // namespace nocopy::replication
