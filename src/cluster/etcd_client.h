// EtcdClient: etcd's v3 API through its JSON gRPC gateway (POST /v3/kv/*,
// /v3/lease/*), over libcurl, bodies with nlohmann-json, keys and values
// base64 on the wire and plain bytes here.
//
// Endpoints: several "http://host:port"; a call goes to the endpoint that last
// answered and, when that one cannot be reached or times out (or answers
// "unavailable"), to the next, until one answers or all failed. An answer
// from etcd that refuses the request (bad argument, lease not found, ...) is
// not retried elsewhere.
//
// Errors: every failure throws EtcdError naming the call, the endpoint(s)
// and the cause (curl's message, or etcd's error text and gRPC code).
//
// Thread-safety: all methods may be called from any thread at once; each call
// borrows an idle curl handle from a small pool (connections are reused).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nocopy::cluster {

class EtcdError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct RangeResult {
  std::int64_t revision = 0;  ///< the store's revision when the range was read
  std::vector<KeyValue> kvs;
};

/// One condition of a transaction (etcd's Compare).
struct Compare {
  enum class Target { version, create, mod, value };
  enum class Result { equal, greater, less, not_equal };
  std::string key;
  Target target = Target::mod;
  Result result = Result::equal;
  std::int64_t number = 0;  ///< version / create_revision / mod_revision
  std::string value;        ///< Target::value

  static Compare mod_revision(std::string key, std::int64_t rev) { return {std::move(key), Target::mod, Result::equal, rev, {}}; }
  static Compare create_revision(std::string key, std::int64_t rev) { return {std::move(key), Target::create, Result::equal, rev, {}}; }
  static Compare absent(std::string key) { return create_revision(std::move(key), 0); }
};

/// One operation of a transaction.
struct Op {
  enum class Kind { put, del, get };
  Kind kind = Kind::get;
  std::string key;
  std::string value;
  std::int64_t lease = 0;
  bool prefix = false;  ///< del / get: every key starting with `key`

  static Op put(std::string key, std::string value, std::int64_t lease = 0) { return {Kind::put, std::move(key), std::move(value), lease, false}; }
  static Op del(std::string key, bool prefix = false) { return {Kind::del, std::move(key), {}, 0, prefix}; }
  static Op get(std::string key, bool prefix = false) { return {Kind::get, std::move(key), {}, 0, prefix}; }
};

struct TxnResult {
  bool succeeded = false;
  std::int64_t revision = 0;
  /// The kvs of each get op of the branch that ran, in order.
  std::vector<std::vector<KeyValue>> gets;
};

class EtcdClient {
 public:
  struct Options {
    std::vector<std::string> endpoints;  ///< "http://host:port"
    std::chrono::milliseconds timeout{3000};
    std::chrono::milliseconds connect_timeout{1000};
  };

  /// "etcd://h1:p1,h2:p2" (or "http://h1:p1,...", or bare "h1:p1,...") ->
  /// {"http://h1:p1", "http://h2:p2"}. Throws std::invalid_argument.
  static std::vector<std::string> parse_endpoints(const std::string& spec);

  explicit EtcdClient(Options opts);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const std::vector<std::string>& endpoints() const { return opts_.endpoints; }

  RangeResult get(const std::string& key);
  RangeResult get_prefix(const std::string& prefix);
  /// Returns the revision of the write.
  std::int64_t put(const std::string& key, const std::string& value, std::int64_t lease = 0);
  /// Returns how many keys were deleted.
  std::int64_t del(const std::string& key, bool prefix = false);
  TxnResult txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                const std::vector<Op>& failure = {});

  /// Returns the lease id. `ttl_seconds` >= 1.
  std::int64_t lease_grant(std::int64_t ttl_seconds);
  /// Renews the lease once; returns its remaining TTL in seconds, 0 when the
  /// lease has expired or does not exist.
  std::int64_t lease_keepalive(std::int64_t id);
  void lease_revoke(std::int64_t id);

  /// The end of the range of every key starting with `prefix` (etcd's
  /// range_end: the prefix with its last byte incremented).
  static std::string prefix_end(const std::string& prefix);
  /// A KeyValue from the gateway's JSON ("kv" objects: base64, int64 as strings).
  static KeyValue parse_kv(const nlohmann::json& j);

 private:
  nlohmann::json call(const char* path, const nlohmann::json& body);
  void* take_handle();
  void give_back(void* h);

  Options opts_;
  std::mutex mu_;
  std::size_t preferred_ = 0;  // index into endpoints, guarded by mu_
  std::vector<void*> idle_;    // CURL*, guarded by mu_
};

/// An int64 as the gateway writes it: a JSON string ("42"), a number, or
/// absent (0).
std::int64_t json_int(const nlohmann::json& obj, const char* field);

/// Runs `attempt` until it returns. When it throws EtcdError before
/// `deadline`, the error is logged ("cluster: <what>: <error> (retrying)")
/// and the attempt made again after `pause`; at or after `deadline` the
/// error is passed on. Blocks the calling thread.
void retry_until(std::chrono::steady_clock::time_point deadline, std::string_view what,
                 const std::function<void()>& attempt, std::chrono::milliseconds pause = std::chrono::milliseconds(500));

}  // namespace nocopy::cluster
