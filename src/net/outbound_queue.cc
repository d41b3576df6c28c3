#include "net/outbound_queue.h"

#include <cerrno>

#include "io/socket.h"

namespace nocopy::net {

void OutboundQueue::push(std::unique_ptr<Outbound> item) {
  Entry e;
  e.mem = item->memory_bytes();
  e.item = std::move(item);
  memory_ += e.mem;
  items_.push_back(std::move(e));
}

OutboundQueue::SlotId OutboundQueue::reserve() {
  Entry e;
  e.slot = next_slot_++;
  const SlotId id = e.slot;
  items_.push_back(std::move(e));
  return id;
}

bool OutboundQueue::fill(SlotId slot, std::unique_ptr<Outbound> item) {
  for (auto& e : items_) {
    if (e.slot == slot && !e.item) {
      e.mem = item->memory_bytes();
      e.item = std::move(item);
      memory_ += e.mem;
      return &e == &items_.front();
    }
  }
  return false;
}

void OutboundQueue::clear() {
  items_.clear();
  memory_ = 0;
}

void OutboundQueue::set_cork(int fd, bool on) {
  if (corked_ == on) return;
  corked_ = on;
  // Best effort: a failure only costs segment sizes, never bytes.
  if (tcp_) (void)io::set_cork(fd, on);
}

OutboundQueue::WriteResult OutboundQueue::write(io::ByteSink& sink) {
  WriteResult out;
  while (front_ready()) {
    if (!account_front(items_.front().item->write_some_to(sink), out)) break;
  }
  return out;
}

bool OutboundQueue::account_front(io::Result<io::Progress> r, WriteResult& out) {
  Entry& e = items_.front();
  if (!r) {
    out.error = std::move(r.error());
    return false;
  }
  out.bytes += r->bytes;
  if (e.item->done()) {
    memory_ -= e.mem;
    items_.pop_front();
    ++out.items_done;
    return true;
  }
  if (r->would_block) {
    out.blocked = true;
    return false;
  }
  if (r->bytes == 0) {
    out.error = io::IoError{EIO, "write_some", "Outbound::write_some made no progress"};
    return false;
  }
  return true;
}

}  // namespace nocopy::net
