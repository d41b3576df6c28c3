#include "net/connection.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "net/listener.h"

namespace nocopy::net {

namespace {

constexpr std::size_t kScratchSize = 64 * 1024;
constexpr std::size_t kKeepInputCapacity = 16 * 1024;  // freed above this when drained
constexpr int kReadRoundsPerEvent = 4;                  // fairness between connections

// Reads land here first, so an idle connection owns no input buffer.
std::byte* scratch() {
  thread_local std::unique_ptr<std::byte[]> buf(new std::byte[kScratchSize]);
  return buf.get();
}

std::atomic<std::uint64_t> g_next_id{1};

std::string errno_text(int err, const char* call) {
  return std::string(call) + ": " + std::strerror(err);
}

}  // namespace

const char* to_string(CloseReason r) {
  switch (r) {
    case CloseReason::peer_closed: return "peer_closed";
    case CloseReason::local: return "local";
    case CloseReason::idle_timeout: return "idle_timeout";
    case CloseReason::read_buffer_full: return "read_buffer_full";
    case CloseReason::io_error: return "io_error";
    case CloseReason::shutdown: return "shutdown";
  }
  return "?";
}

std::shared_ptr<Connection> Connection::create(EventLoop& loop, int fd, const Options& opts) {
  return std::shared_ptr<Connection>(new Connection(loop, fd, opts));
}

Connection::Connection(EventLoop& loop, int fd, const Options& opts)
    : loop_(loop), fd_(fd), opts_(opts), id_(g_next_id.fetch_add(1, std::memory_order_relaxed)) {
  socklen_t len = sizeof peer_;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer_), &len) < 0) peer_.ss_family = AF_UNSPEC;
  const bool tcp = peer_.ss_family == AF_INET || peer_.ss_family == AF_INET6;
  queue_.set_tcp(tcp);
  if (opts_.tcp_nodelay && tcp) {
    int one = 1;
    (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

Connection::~Connection() {
  if (fd_ >= 0) {
    if (state_ != State::init) loop_.remove(fd_);
    if (idle_timer_) loop_.cancel(idle_timer_);
    if (linger_timer_) loop_.cancel(linger_timer_);
    ::close(fd_);
  }
}

std::string Connection::peer_string() const {
  return peer_.ss_family == AF_INET || peer_.ss_family == AF_INET6 ? format_address(peer_) : "local";
}

std::string Connection::peer_host() const {
  char host[INET6_ADDRSTRLEN] = "?";
  if (peer_.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer_)->sin_addr, host, sizeof host);
  else if (peer_.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer_)->sin6_addr, host, sizeof host);
  else
    return "local";
  return host;
}

void Connection::start() {
  if (state_ != State::init) return;
  state_ = State::open;
  last_activity_ = loop_.now();
  loop_.add(fd_, EPOLLIN, [this](std::uint32_t ev) { on_events(ev); });
  arm_idle_timer();
}

void Connection::set_idle_timeout(std::chrono::milliseconds t) {
  opts_.idle_timeout = t;
  if (idle_timer_) {
    loop_.cancel(idle_timer_);
    idle_timer_ = 0;
  }
  if (is_open()) arm_idle_timer();
}

void Connection::arm_idle_timer() {
  if (opts_.idle_timeout.count() <= 0) return;
  std::weak_ptr<Connection> w = weak_from_this();
  idle_timer_ = loop_.run_at(last_activity_ + opts_.idle_timeout, [w] {
    if (auto c = w.lock()) c->on_idle_timer();
  });
}

void Connection::on_idle_timer() {
  idle_timer_ = 0;
  if (!is_open()) return;
  if (loop_.now() - last_activity_ >= opts_.idle_timeout) {
    close(CloseReason::idle_timeout);
    return;
  }
  arm_idle_timer();
}

int Connection::take_socket_error() {
  if (zc_.active()) {
    if (auto r = zc_.reap(fd_); !r) return r.error().err ? r.error().err : EIO;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  if (err == 0 && !zc_.active()) return EIO;  // EPOLLERR without a cause we know of
  return err;
}

void Connection::on_events(std::uint32_t ev) {
  auto self = shared_from_this();  // handlers may drop the last owner
  int sock_err = 0;
  if (ev & EPOLLERR) {
    sock_err = take_socket_error();
    if (sock_err == 0) ev &= ~static_cast<std::uint32_t>(EPOLLERR);  // only zero-copy completions
  }
  if (state_ == State::lingering) {
    // Discard whatever the peer still sends until it closes or the timer fires.
    for (;;) {
      ssize_t n = ::read(fd_, scratch(), kScratchSize);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      finish_close(CloseReason::local);
      return;
    }
    if (ev & (EPOLLERR | EPOLLHUP)) finish_close(CloseReason::local);
    return;
  }
  if (ev & EPOLLERR) {
    last_error_ = errno_text(sock_err, "epoll(EPOLLERR)");
    close(sock_err == ECONNRESET || sock_err == EPIPE ? CloseReason::peer_closed : CloseReason::io_error);
    return;
  }
  if ((ev & EPOLLOUT) && tls_read_wants_write_) {
    tls_read_wants_write_ = false;
    update_interest();
    if (state_ == State::open) handle_read();
  }
  if (ev & EPOLLOUT) flush();
  if (state_ == State::open && (ev & (EPOLLIN | EPOLLHUP))) handle_read();
  // EPOLLHUP: both directions are down; nothing more can be delivered.
  if (state_ != State::closed && (ev & EPOLLHUP)) close(CloseReason::peer_closed);
}

void Connection::handle_read() {
  for (int round = 0; round < kReadRoundsPerEvent; ++round) {
    if (state_ != State::open || paused_ || peer_eof_) break;
    const bool use_scratch = in_size_ == 0;
    std::byte* dst;
    std::size_t room;
    if (use_scratch) {
      dst = scratch();
      room = std::min(kScratchSize, opts_.max_read_buffer);
    } else {
      if (in_size_ == in_cap_) {
        if (in_cap_ >= opts_.max_read_buffer) {
          last_error_ = "read buffer full (" + std::to_string(in_size_) + " bytes unconsumed)";
          close(CloseReason::read_buffer_full);
          return;
        }
        std::size_t cap = std::min(opts_.max_read_buffer, std::max<std::size_t>(in_cap_ * 2, 16 * 1024));
        auto grown = std::make_unique_for_overwrite<std::byte[]>(cap);
        std::memcpy(grown.get(), in_.get(), in_size_);
        in_ = std::move(grown);
        in_cap_ = cap;
      }
      dst = in_.get() + in_size_;
      room = in_cap_ - in_size_;
    }
    ssize_t n = read_some(dst, room);
    if (n < 0) {
      if (errno == EINTR) {
        --round;
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (last_error_.empty()) last_error_ = errno_text(errno, "read");
      close(errno == ECONNRESET ? CloseReason::peer_closed : CloseReason::io_error);
      return;
    }
    if (n == 0) {
      peer_eof_ = true;
      break;
    }
    stats_.bytes_read += static_cast<std::uint64_t>(n);
    last_activity_ = loop_.now();
    if (use_scratch) {
      process_input({dst, static_cast<std::size_t>(n)});
    } else {
      in_size_ += static_cast<std::size_t>(n);
      if (in_size_ >= want_) process_input({});
    }
    // Socket drained (level-triggered: no edge lost). TLS hands out one
    // record per read: only want-read says drained.
    if (!tls_ && static_cast<std::size_t>(n) < room) break;
  }
  if (peer_eof_ && state_ == State::open) close_after_flush();
  if (tls_ && state_ == State::open && !paused_ && !peer_eof_ && tls_->has_buffered_input()) schedule_tls_reread();
}

ssize_t Connection::read_some(std::byte* dst, std::size_t room) {
  if (!tls_) return ::read(fd_, dst, room);
  auto r = tls_->read(std::span<std::byte>(dst, room));
  if (!r) {
    last_error_ = errno_text(r.error().err, r.error().syscall);
    if (!r.error().detail.empty()) last_error_ += " (" + r.error().detail + ")";
    errno = r.error().err;
    return -1;
  }
  if (r->bytes > 0) return static_cast<ssize_t>(r->bytes);
  if (r->eof) return 0;
  if (r->want_write && !tls_read_wants_write_) {
    tls_read_wants_write_ = true;
    update_interest();
  }
  errno = EAGAIN;
  return -1;
}

// Decrypted bytes wait inside OpenSSL where epoll cannot see them: read them
// on the next loop iteration.
void Connection::schedule_tls_reread() {
  if (tls_reread_posted_) return;
  tls_reread_posted_ = true;
  std::weak_ptr<Connection> w = weak_from_this();
  loop_.post([w] {
    auto c = w.lock();
    if (!c) return;
    c->tls_reread_posted_ = false;
    if (c->state_ == State::open) c->handle_read();
  });
}

// Offers input to the handler. `fresh` non-empty: bytes in the scratch buffer
// (in_ is empty); the unconsumed tail is copied into in_. Otherwise in_ is
// offered and compacted.
void Connection::process_input(std::span<std::byte> fresh) {
  if (!handler_ || in_process_) return;
  std::span<std::byte> data = fresh.empty() ? std::span<std::byte>(in_.get(), in_size_) : fresh;
  if (data.empty()) return;
  in_process_ = true;
  want_ = 0;
  std::size_t total = 0;
  while (total < data.size() && state_ == State::open && !paused_) {
    std::size_t n = handler_->on_data(*this, data.subspan(total));
    if (n == 0) break;
    total += std::min(n, data.size() - total);
  }
  in_process_ = false;
  if (state_ == State::closed) {
    in_.reset();  // kept by finish_close() while the handler still had a span into it
    in_size_ = in_cap_ = 0;
    return;
  }
  std::size_t left = data.size() - total;
  if (left == 0) want_ = 0;
  // Room for the whole announced request (expect_input), else at least 16 KiB.
  const std::size_t need = std::min(std::max(left, want_), opts_.max_read_buffer);
  if (!fresh.empty()) {
    if (left == 0) return;
    if (in_cap_ < need) {
      in_cap_ = std::max(need, std::min<std::size_t>(16 * 1024, opts_.max_read_buffer));
      in_ = std::make_unique_for_overwrite<std::byte[]>(in_cap_);
    }
    std::memcpy(in_.get(), data.data() + total, left);
    in_size_ = left;
  } else {
    if (left > 0 && in_cap_ < need) {
      // Grow and compact in one copy.
      auto grown = std::make_unique_for_overwrite<std::byte[]>(need);
      std::memcpy(grown.get(), in_.get() + total, left);
      in_ = std::move(grown);
      in_cap_ = need;
    } else if (total > 0 && left > 0) {
      std::memmove(in_.get(), in_.get() + total, left);
    }
    in_size_ = left;
    if (in_size_ == 0 && in_cap_ > kKeepInputCapacity) {
      in_.reset();
      in_cap_ = 0;
    }
  }
}

bool Connection::over_limits() const {
  return queue_.memory_bytes() > opts_.max_queued_bytes || queue_.size() > opts_.max_queued_items;
}

void Connection::pause_if_over_limits() {
  if (!paused_ && over_limits()) {
    paused_ = true;
    ++stats_.read_pauses;
    update_interest();
  }
}

void Connection::send(std::unique_ptr<Outbound> item) {
  if (!item || !is_open()) return;
  queue_.push(std::move(item));
  pause_if_over_limits();
  flush();
}

Connection::SlotId Connection::reserve() {
  if (!is_open()) return 0;  // never filled: fulfill() ignores a closed connection
  const SlotId id = queue_.reserve();
  pause_if_over_limits();
  return id;
}

void Connection::fulfill(SlotId slot, std::unique_ptr<Outbound> item) {
  if (!item || !is_open()) return;
  if (queue_.fill(slot, std::move(item))) flush();
}

void Connection::flush() {
  if (in_flush_ || !is_open()) return;
  in_flush_ = true;
  auto r = write_queue();
  in_flush_ = false;
  if (r.bytes > 0) {
    stats_.bytes_written += r.bytes;
    last_activity_ = loop_.now();
  }
  stats_.items_sent += r.items_done;
  if (r.error) {
    last_error_ = errno_text(r.error->err, r.error->syscall);
    if (!r.error->detail.empty()) last_error_ += " (" + r.error->detail + ")";
    const int e = r.error->err;
    close(e == EPIPE || e == ECONNRESET ? CloseReason::peer_closed : CloseReason::io_error);
    return;
  }
  write_blocked_ = r.blocked;
  update_interest();
  if (queue_.empty() && !r.blocked) {
    if (state_ == State::closing) {
      begin_linger();
      return;
    }
    if (handler_) handler_->on_drained(*this);
  }
  maybe_resume();
}

OutboundQueue::WriteResult Connection::write_queue() {
  if (!tls_) {
    return queue_.write(fd_, [this](const Outbound& item) {
      if (io::FileSender* zs = item.zero_copy_sender()) zc_.attach(loop_, *zs);
    });
  }
  OutboundQueue::WriteResult r;
  // A record OpenSSL could not finish goes first.
  auto pending = tls_->flush_pending();
  if (!pending) {
    r.error = std::move(pending.error());
    return r;
  }
  if (*pending) r = queue_.write(*tls_);
  if (tls_->has_pending()) r.blocked = true;  // keep EPOLLOUT until the record is out
  return r;
}

void Connection::maybe_resume() {
  if (!paused_ || state_ != State::open) return;
  if (queue_.memory_bytes() > opts_.max_queued_bytes / 2 || queue_.size() > opts_.max_queued_items / 2) return;
  paused_ = false;
  update_interest();
  if (in_size_ > 0) process_input({});
  // Records OpenSSL decrypted before the pause raise no epoll event.
  if (tls_ && state_ == State::open && !paused_ && tls_->has_buffered_input()) schedule_tls_reread();
}

void Connection::update_interest() {
  if (state_ == State::init || state_ == State::closed) return;
  std::uint32_t ev = 0;
  if (state_ == State::lingering) {
    ev = EPOLLIN;
  } else {
    if (state_ == State::open && !paused_ && !peer_eof_) ev |= EPOLLIN;
    if (write_blocked_ || tls_read_wants_write_) ev |= EPOLLOUT;
  }
  loop_.modify(fd_, ev);
}

void Connection::close_after_flush() {
  if (state_ != State::open) return;
  state_ = State::closing;
  update_interest();
  if (queue_.empty() && !(tls_ && tls_->has_pending())) {
    begin_linger();
  } else {
    flush();
  }
}

void Connection::begin_linger() {
  if (peer_eof_ || opts_.linger_timeout.count() <= 0) {
    finish_close(peer_eof_ ? CloseReason::peer_closed : CloseReason::local);
    return;
  }
  state_ = State::lingering;
  if (tls_) tls_->shutdown();  // close_notify, best effort
  ::shutdown(fd_, SHUT_WR);
  if (idle_timer_) {
    loop_.cancel(idle_timer_);
    idle_timer_ = 0;
  }
  std::weak_ptr<Connection> w = weak_from_this();
  linger_timer_ = loop_.run_after(opts_.linger_timeout, [w] {
    if (auto c = w.lock()) {
      c->linger_timer_ = 0;
      c->finish_close(CloseReason::local);
    }
  });
  update_interest();
}

void Connection::close(CloseReason reason) {
  if (state_ == State::closed) return;
  finish_close(reason);
}

void Connection::finish_close(CloseReason reason) {
  if (state_ == State::closed) return;
  auto self = weak_from_this().lock();  // may be null if called from the destructor path
  const bool registered = state_ != State::init;
  state_ = State::closed;
  if (idle_timer_) loop_.cancel(idle_timer_);
  if (linger_timer_) loop_.cancel(linger_timer_);
  idle_timer_ = linger_timer_ = 0;
  if (registered) loop_.remove(fd_);
  if (zc_.active()) {
    zc_.close_socket(loop_, fd_, opts_.completion_timeout);  // closes once completions arrived
  } else {
    ::close(fd_);
  }
  fd_ = -1;
  queue_.clear();
  if (!in_process_) {  // else on_data still holds a span into in_: process_input frees it
    in_.reset();
    in_size_ = in_cap_ = 0;
  }
  if (handler_) handler_->on_close(*this, reason);
  if (close_hook_) close_hook_(*this);
}

}  // namespace nocopy::net
