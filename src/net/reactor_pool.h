// ReactorPool: N threads, each running one EventLoop that owns its
// connections -- the server model shared by `nocopy serve` and `nocopy broker`.
//
// Accepting: with Options::listener.reuse_port (default) every thread has its
// own SO_REUSEPORT listening socket on the same address and the kernel
// spreads connections across them (no cross-thread handoff, no lock). Without
// it, thread 0 accepts and hands connections round-robin to the others via
// post(). Port 0 binds a free port; port() reports it once start() returned.
//
// Several listeners: Options::listens (when not empty, instead of
// Options::listen) binds every address on every thread; a connection
// remembers the index of the listener that accepted it
// (Connection::listener_index()), so a handler can serve each listener its
// own way (plaintext on one, TLS on another). port(i) is listener i's.
//
// Limits: max_connections in all; max_connections_per_address (0: none)
// per peer IP address -- a connection over either limit is closed at once
// and counted in PoolStats::rejected.
//
// Per connection: the HandlerFactory runs on the connection's loop thread
// with the new Connection (not yet started); its handler then sees every byte
// of that connection on that thread only. conn.loop().index() tells which
// thread it is (for per-thread state such as one io::FileSender per thread).
//
// Connection limit: at most Options::max_connections open at once across the
// pool; a connection accepted above the limit is closed immediately
// (counted in stats().rejected).
//
// Shutdown: stop(grace) closes the listeners (no new connections), asks every
// connection to close after flushing what is queued (in-flight responses and
// file transfers finish), waits up to `grace`, closes what is left, stops the
// loops and joins the threads. Call it from a thread that is not one of the
// pool's loops. The destructor calls stop(0) if needed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/connection.h"
#include "net/event_loop.h"
#include "net/listener.h"

namespace nocopy::net {

struct PoolStats {
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;  // over max_connections
  std::uint64_t closed = 0;
  std::uint64_t active = 0;
};

class ReactorPool {
 public:
  struct Options {
    std::string listen = "127.0.0.1:0";
    std::vector<std::string> listens;  // not empty: these, instead of `listen`
    std::size_t threads = 1;
    std::size_t max_connections = 10'000;
    std::size_t max_connections_per_address = 0;  // 0: unlimited
    Connection::Options connection;
    Listener::Options listener;
  };
  using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>(Connection&)>;

  ReactorPool(Options opts, HandlerFactory factory);
  ~ReactorPool();
  ReactorPool(const ReactorPool&) = delete;
  ReactorPool& operator=(const ReactorPool&) = delete;

  // Runs on each loop thread before it starts serving (per-thread setup).
  void set_thread_init(std::function<void(EventLoop&)> fn) { thread_init_ = std::move(fn); }

  // Binds (throws std::system_error on failure, e.g. EADDRINUSE) and starts the threads.
  void start();
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5'000));
  // Blocks until stop() has completed (from another thread or a signal handler thread).
  void wait();

  std::uint16_t port() const { return ports_.empty() ? 0 : ports_.front(); }
  std::uint16_t port(std::size_t listener) const { return ports_.at(listener); }
  std::size_t listener_count() const { return ports_.size(); }
  std::size_t size() const { return reactors_.size(); }
  EventLoop& loop(std::size_t i) { return reactors_.at(i)->loop; }
  PoolStats stats() const;

 private:
  struct Reactor {
    EventLoop loop;
    std::vector<std::unique_ptr<Listener>> listeners;
    std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> conns;
    bool draining = false;
    std::thread thread;
  };
  void adopt(Reactor& r, int fd, std::size_t listener);
  // Per-address count (max_connections_per_address): false when over it.
  bool take_address_slot(const std::string& address);
  void release_address_slot(const std::string& address);
  void begin_drain(Reactor& r, std::chrono::milliseconds grace);
  void maybe_finish(Reactor& r);

  Options opts_;
  HandlerFactory factory_;
  std::function<void(EventLoop&)> thread_init_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::uint16_t> ports_;
  std::mutex per_address_mu_;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::atomic<std::size_t> active_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> closed_{0};
  std::size_t next_rr_ = 0;  // handoff target (thread 0 only)
  bool started_ = false;
  std::atomic<bool> stopped_{false};
  std::mutex stop_mu_;
};

}  // namespace nocopy::net
