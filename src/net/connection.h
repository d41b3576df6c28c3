// Connection: one accepted TCP socket, owned by one EventLoop.
//
// Ownership & lifetime
//  * Connections are created by a ReactorPool (or by hand with
//    Connection::create) and held by std::shared_ptr. The pool's per-thread
//    registry holds the owning reference until the connection closes; code on
//    other threads must keep only a std::weak_ptr and reach the connection
//    through loop().post(): e.g. a flusher thread posts
//      [w = weak_ptr(conn)] { if (auto c = w.lock(); c && c->is_open()) c->fulfill(slot, ...); }
//  * The handler is owned by the connection and destroyed with it.
//  * Every member function must be called on the owning loop's thread.
//
// Input
//  * Bytes read from the socket are offered to Handler::on_data(conn, span);
//    the handler returns how many bytes it consumed (whole requests). The
//    rest is kept and offered again, with more appended, on the next read.
//    on_data is called again while it consumes > 0 and bytes remain.
//  * The span is valid only during the call (it may point into a per-loop
//    scratch buffer): copy what you keep. It is writable: the handler may
//    modify the bytes in place during the call (Kafka patches baseOffset in
//    a produced batch without copying the request out first).
//  * A handler that knows how long its incomplete request is says so with
//    expect_input(n) before returning: the connection then sizes its buffer
//    for n bytes at once (no doubling copies) and offers the input again
//    only when n bytes are there (no re-parsing of a growing prefix).
//  * Bounded memory: a connection holds at most Options::max_read_buffer
//    unconsumed bytes. An idle connection holds none (reads land in the loop's
//    scratch buffer; only a partial request is copied out). When the buffer
//    is full and the handler consumes nothing, the connection is closed with
//    CloseReason::read_buffer_full -- a handler that wants to answer first
//    (HTTP 431, Kafka error) must check the size itself in on_data.
//
// Output (in order, pipelining-safe)
//  * send(item) appends to a FIFO of Outbound items; reserve() appends an
//    empty slot that fulfill(slot, item) fills later -- responses leave in
//    request order even when a later one is ready first (Kafka: a fetch
//    waiting in purgatory, an acks=all produce waiting for a flush).
//  * Writes are attempted immediately (no epoll round-trip when the socket
//    has room) and resume on EPOLLOUT after EAGAIN.
//  * Backpressure: while the queue holds more than max_queued_bytes of memory
//    or more than max_queued_items items, the connection stops reading and
//    stops calling on_data; it resumes when the queue drains below half of
//    both limits. A client that never reads its responses therefore cannot
//    make the server buffer more than ~one limit per connection.
//  * The queue and the TCP_CORK decision belong to net::OutboundQueue
//    (net/outbound_queue.h, which states the write/cork contract).
//
// Closing
//  * close_after_flush(): stop reading requests, send what is queued (slots
//    included), then shut down the write side and close (with a short
//    lingering read so that a client still sending does not get an RST that
//    destroys the response it has not read yet).
//  * close(reason): immediate; queued output is dropped.
//  * Peer EOF: like close_after_flush() (responses to already-received
//    pipelined requests still go out).
//  * Handler::on_close runs exactly once, on the loop thread.
//  * Zero-copy senders (an Outbound whose zero_copy_sender() is set:
//    msg_zerocopy, uring_send_zc): their completions are reaped as they
//    arrive (EPOLLERR with SO_ERROR 0 is the MSG_ZEROCOPY error queue, not a
//    failure) and, at close, the socket is kept open until the outstanding
//    ones arrived or Options::completion_timeout passed
//    (net/zero_copy_completions.h). The fd number is therefore not reused
//    while the kernel may still report on it.
//
// TLS (set_tls() before start()): every byte read is decrypted by the
// session (the first reads run the handshake) and every item is written
// through it (Outbound::write_some_to). Bytes OpenSSL already holds are
// offered without waiting for epoll; a handshake step that must write waits
// for EPOLLOUT; a record OpenSSL could not finish keeps EPOLLOUT armed until
// it is out. The lingering close sends close_notify before SHUT_WR.
//
//  * Idle timeout: closed if no byte moved in either direction for
//    Options::idle_timeout (0 = never). Header-read / request timeouts are
//    protocol-specific: use loop().run_after() in the handler.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "net/event_loop.h"
#include "net/outbound.h"
#include "net/outbound_queue.h"
#include "net/tls_session.h"
#include "net/zero_copy_completions.h"

namespace nocopy::net {

class Connection;

enum class CloseReason {
  peer_closed,       // EOF or reset from the peer
  local,             // close() / close_after_flush() by the application
  idle_timeout,
  read_buffer_full,
  io_error,          // read/write failed (see Connection::last_error())
  shutdown,          // the loop/pool is stopping
};
const char* to_string(CloseReason r);

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Returns bytes consumed from the front of `data` (0..data.size()).
  virtual std::size_t on_data(Connection& conn, std::span<std::byte> data) = 0;
  // The output queue became empty (e.g. to resume a paused producer). Optional.
  virtual void on_drained(Connection&) {}
  virtual void on_close(Connection&, CloseReason) {}
};

struct ConnectionStats {
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t items_sent = 0;
  std::uint64_t read_pauses = 0;  // times backpressure stopped reading
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Options {
    std::size_t max_read_buffer = 1 << 20;      // unconsumed input bytes
    std::size_t max_queued_bytes = 4 << 20;     // memory held by queued output
    std::size_t max_queued_items = 1024;        // queued output items (incl. slots)
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds linger_timeout{2'000};  // lingering close
    bool tcp_nodelay = true;
    // Longest wait, after close, for outstanding MSG_ZEROCOPY completions.
    std::chrono::milliseconds completion_timeout{5'000};
  };
  using SlotId = OutboundQueue::SlotId;

  // Adopts `fd` (a connected, non-blocking socket; closed by the connection).
  static std::shared_ptr<Connection> create(EventLoop& loop, int fd, const Options& opts);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Before start(): who gets the bytes, and who is told when it is gone.
  void set_handler(std::unique_ptr<ConnectionHandler> h) { handler_ = std::move(h); }
  ConnectionHandler* handler() const { return handler_.get(); }
  void set_close_hook(std::function<void(Connection&)> hook) { close_hook_ = std::move(hook); }
  // Before start(): speak TLS on this socket through `tls`.
  void set_tls(std::unique_ptr<TlsSession> tls) { tls_ = std::move(tls); }
  TlsSession* tls() const { return tls_.get(); }
  // Which of the pool's listeners accepted this connection (0 for the first
  // or only one); set by the pool before the handler is made.
  std::size_t listener_index() const { return listener_index_; }
  void set_listener_index(std::size_t i) { listener_index_ = i; }
  // Registers with the loop and starts reading.
  void start();

  // Output (loop thread).
  void send(std::unique_ptr<Outbound> item);
  void send_bytes(std::string bytes) { send(std::make_unique<BytesOutbound>(std::move(bytes))); }
  SlotId reserve();
  // Fills a reserved slot. Ignored if the connection closed meanwhile.
  void fulfill(SlotId slot, std::unique_ptr<Outbound> item);

  void close_after_flush();
  void close(CloseReason reason = CloseReason::local);

  bool is_open() const { return state_ == State::open || state_ == State::closing; }
  bool reading_paused() const { return paused_; }
  std::size_t queued_bytes() const { return queue_.memory_bytes(); }
  std::size_t queued_items() const { return queue_.size(); }
  std::size_t buffered_input() const { return in_size_; }
  // From on_data: the input left unconsumed by this call is the start of one
  // request of `total` bytes; do not offer it again before that many are
  // buffered. Capped at Options::max_read_buffer (a larger request ends in
  // CloseReason::read_buffer_full as before). Forgotten after the next offer.
  void expect_input(std::size_t total) { want_ = total; }

  void set_idle_timeout(std::chrono::milliseconds t);

  EventLoop& loop() const { return loop_; }
  int fd() const { return fd_; }
  std::uint64_t id() const { return id_; }
  const sockaddr_storage& peer() const { return peer_; }
  std::string peer_string() const;  // "127.0.0.1:54321"
  std::string peer_host() const;    // "127.0.0.1", "::1"; "local" for non-IP sockets
  const ConnectionStats& stats() const { return stats_; }
  const std::string& last_error() const { return last_error_; }

 private:
  Connection(EventLoop& loop, int fd, const Options& opts);
  enum class State { init, open, closing, lingering, closed };

  void on_events(std::uint32_t ev);
  void handle_read();
  // One read into dst: bytes (> 0), 0 at EOF, -1 with errno EAGAIN (nothing
  // now) or another errno (failed; last_error_ set). Plain or through TLS.
  ssize_t read_some(std::byte* dst, std::size_t room);
  void schedule_tls_reread();
  // Writes the queue (through the TLS session when there is one).
  OutboundQueue::WriteResult write_queue();
  void process_input(std::span<std::byte> fresh);
  void flush();
  void update_interest();
  void maybe_resume();
  void pause_if_over_limits();
  void arm_idle_timer();
  void on_idle_timer();
  void begin_linger();
  void finish_close(CloseReason reason);
  bool over_limits() const;
  // EPOLLERR: reaps zero-copy completions; returns the socket's pending error
  // (0: the error queue held only completions, nothing failed).
  int take_socket_error();

  EventLoop& loop_;
  int fd_;
  Options opts_;
  std::uint64_t id_;
  std::size_t listener_index_ = 0;
  sockaddr_storage peer_{};
  State state_ = State::init;
  std::unique_ptr<ConnectionHandler> handler_;
  std::function<void(Connection&)> close_hook_;

  // Unconsumed input (owned; empty for idle connections).
  std::unique_ptr<std::byte[]> in_;
  std::size_t in_size_ = 0;
  std::size_t in_cap_ = 0;

  OutboundQueue queue_;
  bool paused_ = false;
  bool peer_eof_ = false;
  bool in_flush_ = false;
  bool in_process_ = false;
  std::size_t want_ = 0;  // expect_input(): bytes needed before the next offer
  bool write_blocked_ = false;

  EventLoop::TimerId idle_timer_ = 0;
  EventLoop::Clock::time_point last_activity_;
  EventLoop::TimerId linger_timer_ = 0;

  std::unique_ptr<TlsSession> tls_;
  bool tls_read_wants_write_ = false;  // the handshake waits for EPOLLOUT
  bool tls_reread_posted_ = false;

  ConnectionStats stats_;
  std::string last_error_;
  ZeroCopyCompletions zc_;
};

}  // namespace nocopy::net
