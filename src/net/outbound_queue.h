// OutboundQueue: a connection's output -- the FIFO of Outbound items and
// reserved slots -- and the one place that decides TCP_CORK.
//
// Ownership
//  * Each queued Outbound is owned by the queue until it is fully written
//    (then destroyed at once) or the queue is cleared (connection closed).
//    A reserved slot holds no item until fill(); the writer never passes an
//    unfilled slot, so items leave in the order they were queued/reserved.
//
// Writing: write(fd) calls write_some() on the front item until the queue is
// empty, the front is an unfilled slot, the socket would block, or an error.
//  * Partial I/O: an item that took only part of its bytes stays at the
//    front; the next write() continues it exactly where it stopped (the
//    Outbound contract, net/outbound.h). Short writes are retried at once.
//  * EAGAIN: write() returns with `blocked` set; the caller waits for
//    EPOLLOUT and calls write() again. Nothing is lost or sent twice.
//  * Errors (EPIPE, ECONNRESET, a file truncated under a region, ...) are
//    returned; the queue is then unusable and the caller closes. An item that
//    makes no progress without would_block is reported as an error (EIO).
//  * SIGPIPE: never raised -- every Outbound writes with MSG_NOSIGNAL (or a
//    FileSender that guards SIGPIPE, io/transfer.h).
//
// TLS: write(sink) is the same loop through an io::ByteSink (a TLS session:
// Outbound::write_some_to); it never corks (records are formed by the
// session) and registers no zero-copy sender.
//
// Cork (nginx's tcp_nopush, with the state on the connection): the socket is
// corked before the first write of an item that has a memory part (a header)
// and more than kCorkMinFileBytes of file regions (a body), so the body's
// chunks leave in full-sized segments; it is uncorked when the queue runs
// empty or stalls on an unfilled slot (a corked socket holds back a partial
// segment for up to 200 ms), never while blocked on EAGAIN. A smaller body
// leaves in one file send and the ChainSender holds the header back with
// MSG_MORE until then, so corking it would only add two setsockopt calls.
// Pipelined items queued behind a corked one share its full segments. Only
// TCP sockets are corked (set_tcp(false) for others).
//
// Thread-safety: the owning connection's loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "io/error.h"
#include "net/outbound.h"

namespace nocopy::net {

class OutboundQueue {
 public:
  using SlotId = std::uint64_t;
  static constexpr std::uint64_t kCorkMinFileBytes = 64 * 1024;

  // The cork rule above, for one item.
  static bool wants_cork(const Outbound& item) {
    return item.file_bytes() > kCorkMinFileBytes && item.memory_bytes() > 0;
  }

  // Whether the socket is a TCP socket (else cork is never set).
  void set_tcp(bool tcp) { tcp_ = tcp; }

  void push(std::unique_ptr<Outbound> item);
  SlotId reserve();
  // Fills a reserved slot (ignored when no such unfilled slot is queued).
  // True when the filled slot is the front: the caller should write().
  bool fill(SlotId slot, std::unique_ptr<Outbound> item);
  bool front_ready() const { return !items_.empty() && items_.front().item != nullptr; }

  struct WriteResult {
    std::uint64_t bytes = 0;       // written by this call
    std::uint64_t items_done = 0;  // items fully written and dropped
    bool blocked = false;          // stopped on EAGAIN with bytes left
    std::optional<io::IoError> error;
  };
  // `on_item(item)` runs before each write_some() (the Connection registers
  // the item's zero-copy sender there).
  template <class BeforeWrite>
  WriteResult write(int fd, BeforeWrite&& on_item);
  WriteResult write(io::ByteSink& sink);

  void clear();
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  // Memory held by queued items (file regions count 0).
  std::size_t memory_bytes() const { return memory_; }
  bool corked() const { return corked_; }

 private:
  struct Entry {
    SlotId slot = 0;
    std::unique_ptr<Outbound> item;  // null: reserved slot not yet filled
    std::size_t mem = 0;
  };
  void set_cork(int fd, bool on);
  // Accounts one write_some()/write_some_to() of the front item; true when
  // the loop goes on to the next item.
  bool account_front(io::Result<io::Progress> r, WriteResult& out);

  std::deque<Entry> items_;
  std::size_t memory_ = 0;
  SlotId next_slot_ = 1;
  bool tcp_ = true;
  bool corked_ = false;
};

template <class BeforeWrite>
OutboundQueue::WriteResult OutboundQueue::write(int fd, BeforeWrite&& on_item) {
  WriteResult out;
  while (front_ready()) {
    Outbound& item = *items_.front().item;
    if (!corked_ && wants_cork(item)) set_cork(fd, true);
    on_item(item);
    if (!account_front(item.write_some(fd), out)) break;
  }
  // Queue empty or stalled on a slot: push out the tail.
  if (!out.blocked && !out.error && corked_) set_cork(fd, false);
  return out;
}

}  // namespace nocopy::net
