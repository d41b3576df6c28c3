#include "net/zero_copy_completions.h"

#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include <spdlog/spdlog.h>


namespace nocopy::net {

namespace {

// A closed connection's socket kept open until its MSG_ZEROCOPY completions
// were read. Owned by its loop registration and its timer; finish() ends both.
struct Linger : std::enable_shared_from_this<Linger> {
  Linger(EventLoop& l, int f, io::FileSender& s) : loop(l), fd(f), sender(s) {}
  ~Linger() {
    // Only reached without finish() when the loop itself is destroyed (pool
    // stopped): the sender's table is not used any more, just close.
    if (fd >= 0) ::close(fd);
  }

  void on_event() {
    auto left = sender.reap(fd);
    if (!left || *left == 0) finish(left ? "" : left.error().message().c_str());
  }

  void finish(const char* why) {
    if (fd < 0) return;
    auto self = shared_from_this();  // remove() and cancel() drop the other owners
    if (why != nullptr && *why != '\0') {
      spdlog::debug("net: fd {} closed with {} zero-copy sends outstanding ({})", fd,
                    sender.outstanding(fd), why);
    }
    loop.remove(fd);
    if (timer != 0) loop.cancel(timer);
    timer = 0;
    sender.forget(fd);  // releases what is still held; a reused fd number starts fresh
    ::close(fd);
    fd = -1;
  }

  EventLoop& loop;
  int fd;
  io::FileSender& sender;
  EventLoop::TimerId timer = 0;
};

}  // namespace

void ZeroCopyCompletions::attach(EventLoop& loop, io::FileSender& sender) {
  if (sender_ == &sender) return;
  if (sender_ != nullptr) {
    // One socket, one sender: two would disagree about MSG_ZEROCOPY ids.
    spdlog::warn("net: a second zero-copy sender on one connection; completions of the first are reaped by it no more");
  }
  sender_ = &sender;
  const int rfd = sender.completion_fd();
  if (rfd >= 0 && !loop.watching(rfd)) {
    io::FileSender* s = &sender;
    loop.add(rfd, EPOLLIN, [s](std::uint32_t) {
      if (auto r = s->reap(-1); !r) spdlog::warn("net: reaping zero-copy notifications: {}", r.error().message());
    });
  }
}

io::Result<std::size_t> ZeroCopyCompletions::reap(int fd) {
  if (sender_ == nullptr) return 0;
  return sender_->reap(fd);
}

void ZeroCopyCompletions::close_socket(EventLoop& loop, int fd, std::chrono::milliseconds max_wait) {
  if (sender_ == nullptr || !sender_->completions_on_socket()) {
    // No completions, or they come on a descriptor the loop watches anyway
    // (SEND_ZC's ring): nothing ties the socket to its sends.
    ::close(fd);
    return;
  }
  auto left = sender_->reap(fd);
  if (!left || *left == 0 || max_wait.count() <= 0) {
    sender_->forget(fd);
    ::close(fd);
    return;
  }
  // The peer sees EOF as it would after close(); queued bytes still go out.
  (void)::shutdown(fd, SHUT_WR);
  auto l = std::make_shared<Linger>(loop, fd, *sender_);
  // Edge-triggered with no events asked for: woken by each error-queue arrival
  // (EPOLLERR) without spinning on a persistent EPOLLHUP.
  loop.add(fd, EPOLLET, [l](std::uint32_t) { l->on_event(); });
  std::weak_ptr<Linger> w = l;
  l->timer = loop.run_after(max_wait, [w] {
    if (auto p = w.lock()) {
      p->timer = 0;
      p->finish("timed out waiting for completions");
    }
  });
}

}  // namespace nocopy::net
