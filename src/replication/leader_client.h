// LeaderClient: one blocking Kafka connection from a follower to its leader
// (a fetcher thread's own). Requests are encoded and responses decoded with
// the kafka layer's codecs; the socket work is poll + send/recv with a
// deadline, handling EINTR, EAGAIN, short transfers and a peer that closes
// (0 returns); SIGPIPE is avoided with MSG_NOSIGNAL.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/fd.h"
#include "kafka/codec.h"
#include "replication/partition_state.h"

namespace nocopy::replication {

/// How a broker reaches and authenticates to another broker (Kafka's
/// inter.broker.listener.name and the broker's own SASL credentials).
struct InterBrokerAuth {
  std::string listener;   ///< the other broker's listener of this name; empty: its default address
  std::string mechanism;  ///< empty: no SASL; else PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
  std::string user, password;
};

class LeaderClient {
 public:
  LeaderClient() = default;
  // Connects (closing any previous connection). False on failure, with error() saying why.
  bool connect(const std::string& host, std::uint16_t port, int timeout_ms);
  // Connects to `broker`'s listener `auth.listener` and, with a mechanism,
  // authenticates (below). False on failure, with error() saying why.
  bool connect_to(const BrokerEndpoint& broker, const InterBrokerAuth& auth, int timeout_ms);
  bool connected() const { return static_cast<bool>(fd_); }
  // SASL on the new connection: SaslHandshake v1, then SaslAuthenticate v1
  // with PLAIN's one message or SCRAM-SHA-256/512's two (the server's
  // signature checked). False (and the connection closed) on a refusal or
  // an I/O error, error() saying why.
  bool authenticate(const std::string& mechanism, const std::string& user, const std::string& password,
                    int timeout_ms);
  void close();
  const std::string& error() const { return error_; }

  // Sends `req` at `version` and reads its response into `out`. The
  // response's variable-size fields (records) are views into `frame`, which
  // the caller keeps while it uses them. False (and the connection closed)
  // on an I/O error, a timeout, or an undecodable answer.
  template <class Req, class Resp>
  bool call(const Req& req, std::int16_t version, Resp& out, std::vector<std::byte>& frame, int timeout_ms) {
    const std::int32_t corr = ++correlation_;
    if (!send_all(kafka::encode_request(corr, version, req, std::string("nocopy-replica")), timeout_ms)) return false;
    if (!read_frame(frame, timeout_ms)) return false;
    std::int32_t got = -1;
    if (kafka::decode_response(frame, version, got, out) != kafka::DecodeError::none || got != corr) {
      fail("undecodable response from the leader");
      return false;
    }
    return true;
  }

 private:
  // One SaslAuthenticate round: `token` out, the server's answer in `reply`.
  bool sasl_round(const std::string& token, std::string& reply, int timeout_ms);
  bool send_all(const std::vector<std::byte>& bytes, int timeout_ms);
  bool read_frame(std::vector<std::byte>& frame, int timeout_ms);
  bool recv_exact(std::byte* dst, std::size_t len, std::int64_t deadline_ms);
  bool wait(short events, std::int64_t deadline_ms);
  void fail(std::string why);

  io::Fd fd_;
  std::int32_t correlation_ = 0;
  std::string error_;
};

}  // namespace nocopy::replication
