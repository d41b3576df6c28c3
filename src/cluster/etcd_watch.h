// EtcdWatch: one streaming watch (POST /v3/watch on etcd's JSON gateway) of
// every key under a prefix, from a given revision, on its own thread.
//
// The stream's events reach `on_events` in revision order, on the watch
// thread. The watch ends when the stream ends or fails (etcd stopped, the
// connection broke, the start revision was compacted away) or stop() is
// called; `on_end` then runs once, on the watch thread, with the reason
// (empty after stop()). A broken TCP connection is noticed by TCP keepalive
// within about ten seconds. The owner re-reads the prefix and starts a new
// watch after an end: nothing is resumed here.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.h"

namespace nocopy::cluster {

struct WatchEvent {
  enum class Type { put, del };
  Type type = Type::put;
  KeyValue kv;  ///< for del: key and mod_revision only
};

class EtcdWatch {
 public:
  using EventsFn = std::function<void(std::int64_t revision, const std::vector<WatchEvent>& events)>;
  using EndFn = std::function<void(const std::string& reason)>;

  /// Starts the watch thread on `endpoint` ("http://host:port").
  EtcdWatch(std::string endpoint, std::string prefix, std::int64_t start_revision, EventsFn on_events, EndFn on_end);
  ~EtcdWatch();  ///< stop()
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  /// Ends the stream (within about a second) and joins the thread. Must not
  /// be called from the callbacks.
  void stop();
  bool running() const { return !ended_.load(); }

  /// One line of the stream -> events, or an error text. Exposed for tests.
  struct Parsed {
    std::int64_t revision = 0;
    std::vector<WatchEvent> events;
    std::string error;  ///< non-empty: the stream is unusable
    bool created = false;
  };
  static Parsed parse_line(const std::string& line);

 private:
  void run();
  static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* self);
  static int on_progress(void* self, long long, long long, long long, long long);

  std::string endpoint_, prefix_;
  std::int64_t start_revision_;
  EventsFn on_events_;
  EndFn on_end_;
  std::string pending_;  // bytes of an incomplete line (watch thread only)
  std::string error_;    // first stream error (watch thread only)
  std::atomic<bool> stop_{false};
  std::atomic<bool> ended_{false};
  std::thread thread_;
};

}  // namespace nocopy::cluster
