#include "net/reactor_pool.h"

#include <unistd.h>

#include <mutex>

#include <spdlog/spdlog.h>

namespace nocopy::net {

ReactorPool::ReactorPool(Options opts, HandlerFactory factory) : opts_(std::move(opts)), factory_(std::move(factory)) {
  if (opts_.threads == 0) opts_.threads = 1;
  for (std::size_t i = 0; i < opts_.threads; ++i) {
    auto r = std::make_unique<Reactor>();
    r->loop.set_index(i);
    reactors_.push_back(std::move(r));
  }
}

ReactorPool::~ReactorPool() {
  if (started_) stop(std::chrono::milliseconds(0));
}

void ReactorPool::start() {
  if (started_) return;
  const bool per_thread = opts_.listener.reuse_port;
  std::vector<std::string> addrs = opts_.listens;
  if (addrs.empty()) addrs.push_back(opts_.listen);
  ports_.assign(addrs.size(), 0);
  for (std::size_t li = 0; li < addrs.size(); ++li) {
    std::string addr = addrs[li];
    for (std::size_t i = 0; i < reactors_.size(); ++i) {
      if (i > 0 && !per_thread) break;
      auto& l = reactors_[i]->listeners.emplace_back(std::make_unique<Listener>(reactors_[i]->loop, addr, opts_.listener));
      if (i == 0) {
        ports_[li] = l->port();
        // The other threads must join the same port, not pick new free ones.
        addr = format_address(l->address());
      }
    }
  }
  for (std::size_t i = 0; i < reactors_.size(); ++i) {
    auto& r = *reactors_[i];
    for (std::size_t li = 0; li < r.listeners.size(); ++li) {
      r.listeners[li]->start([this, &r, per_thread, li](int fd) {
        if (per_thread || reactors_.size() == 1) {
          adopt(r, fd, li);
          return;
        }
        Reactor& target = *reactors_[next_rr_++ % reactors_.size()];
        if (&target == &r) {
          adopt(r, fd, li);
        } else {
          target.loop.post([this, &target, fd, li] { adopt(target, fd, li); });
        }
      });
    }
  }
  started_ = true;
  for (auto& rp : reactors_) {
    Reactor* r = rp.get();
    r->thread = std::thread([this, r] {
      if (thread_init_) thread_init_(r->loop);
      try {
        r->loop.run();
      } catch (const std::exception& e) {
        spdlog::critical("reactor {}: {}", r->loop.index(), e.what());
        std::abort();
      }
    });
  }
}

bool ReactorPool::take_address_slot(const std::string& address) {
  if (opts_.max_connections_per_address == 0) return true;
  std::lock_guard lk(per_address_mu_);
  auto& n = per_address_[address];
  if (n >= opts_.max_connections_per_address) {
    if (n == 0) per_address_.erase(address);
    return false;
  }
  ++n;
  return true;
}

void ReactorPool::release_address_slot(const std::string& address) {
  if (opts_.max_connections_per_address == 0) return;
  std::lock_guard lk(per_address_mu_);
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void ReactorPool::adopt(Reactor& r, int fd, std::size_t listener) {
  if (r.draining) {
    ::close(fd);
    return;
  }
  if (active_.load(std::memory_order_relaxed) >= opts_.max_connections) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    ::close(fd);
    return;
  }
  active_.fetch_add(1, std::memory_order_relaxed);
  accepted_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<Connection> c;
  try {
    c = Connection::create(r.loop, fd, opts_.connection);
    std::string address = c->peer_host();
    if (!take_address_slot(address)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      active_.fetch_sub(1, std::memory_order_relaxed);
      spdlog::warn("connection from {} refused: {} connections from that address already", address,
                   opts_.max_connections_per_address);
      return;  // the Connection closes the socket when it goes
    }
    c->set_listener_index(listener);
    c->set_close_hook([this, &r, address](Connection& conn) {
      release_address_slot(address);
      active_.fetch_sub(1, std::memory_order_relaxed);
      closed_.fetch_add(1, std::memory_order_relaxed);
      // Erase later: we are inside the connection's own member function.
      r.loop.post([this, &r, id = conn.id()] {
        r.conns.erase(id);
        maybe_finish(r);
      });
    });
    c->set_handler(factory_(*c));
    r.conns.emplace(c->id(), c);
    c->start();
  } catch (const std::exception& e) {
    spdlog::error("accepting connection: {}", e.what());
    if (c) {
      r.conns.erase(c->id());
      c->close(CloseReason::io_error);
    } else {
      ::close(fd);
      active_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void ReactorPool::begin_drain(Reactor& r, std::chrono::milliseconds grace) {
  r.draining = true;
  for (auto& l : r.listeners) l->close();
  // Copy: close_after_flush may close (and post the erase of) connections.
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(r.conns.size());
  for (auto& [id, c] : r.conns) all.push_back(c);
  if (grace.count() <= 0) {
    for (auto& c : all) c->close(CloseReason::shutdown);
  } else {
    for (auto& c : all) c->close_after_flush();
    r.loop.run_after(grace, [&r] {
      std::vector<std::shared_ptr<Connection>> left;
      for (auto& [id, c] : r.conns) left.push_back(c);
      for (auto& c : left) c->close(CloseReason::shutdown);
      r.loop.stop();  // posted erasures run before run() returns
    });
  }
  // Erasures are posted; check after they ran.
  r.loop.post([this, &r] { maybe_finish(r); });
}

void ReactorPool::maybe_finish(Reactor& r) {
  if (r.draining && r.conns.empty()) r.loop.stop();
}

void ReactorPool::stop(std::chrono::milliseconds grace) {
  std::lock_guard lk(stop_mu_);
  if (!started_ || stopped_.load()) return;
  for (auto& rp : reactors_) {
    Reactor* r = rp.get();
    r->loop.post([this, r, grace] { begin_drain(*r, grace); });
  }
  for (auto& rp : reactors_) {
    if (rp->thread.joinable()) rp->thread.join();
  }
  // Loops are stopped: whatever is left is closed here, single-threaded.
  for (auto& rp : reactors_) {
    std::vector<std::shared_ptr<Connection>> left;
    for (auto& [id, c] : rp->conns) left.push_back(c);
    for (auto& c : left) c->set_close_hook(nullptr);
    for (auto& c : left) c->close(CloseReason::shutdown);
    rp->conns.clear();
    rp->listeners.clear();
  }
  stopped_.store(true);
  stopped_.notify_all();
}

void ReactorPool::wait() { stopped_.wait(false); }

PoolStats ReactorPool::stats() const {
  PoolStats s;
  s.accepted = accepted_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.closed = closed_.load(std::memory_order_relaxed);
  s.active = active_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace nocopy::net
