#include "serve/file_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <spdlog/spdlog.h>

#include "serve/http_date.h"
#include "serve/http_session.h"

namespace nocopy::serve {

const std::string& FileServer::ThreadState::http_date_now() {
  std::time_t t = std::time(nullptr);
  if (t != date_time) {
    date_time = t;
    date = format_http_date(t);
  }
  return date;
}

FileServer::FileServer(ServeOptions opts) : opts_(std::move(opts)) {
  if (opts_.threads == 0) opts_.threads = 1;
  root_fd_ = ::open(opts_.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + opts_.root.string());
  if (opts_.access_log) {
    if (opts_.access_log_path.empty() || opts_.access_log_path == "-") {
      log_fd_ = STDOUT_FILENO;
    } else {
      log_fd_ = ::open(opts_.access_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (log_fd_ < 0) {
        int e = errno;
        ::close(root_fd_);
        throw std::system_error(e, std::generic_category(), "open " + opts_.access_log_path);
      }
      own_log_fd_ = true;
    }
  }
  for (std::size_t i = 0; i < opts_.threads; ++i) {
    auto ts = std::make_unique<ThreadState>();
    ts->file_sender = io::make_sender(opts_.transfer);
    // The connection's OutboundQueue corks around header+file chains across
    // its queue (also coalescing pipelined responses).
    ts->chain_sender = std::make_unique<buf::ChainSender>(*ts->file_sender);
    ts->log.set_fd(log_fd_);
    threads_.push_back(std::move(ts));
  }
}

FileServer::~FileServer() {
  stop(std::chrono::milliseconds(0));
  for (auto& t : threads_) t->log.flush();
  if (own_log_fd_ && log_fd_ >= 0) ::close(log_fd_);
  if (root_fd_ >= 0) ::close(root_fd_);
}

void FileServer::start() {
  net::ReactorPool::Options po;
  po.listen = opts_.listen;
  po.threads = opts_.threads;
  po.max_connections = opts_.max_connections;
  po.connection.max_read_buffer =
      std::max<std::size_t>(64 * 1024, opts_.limits.max_request_line + opts_.limits.max_header_bytes + 4096);
  po.connection.max_queued_bytes = 1 << 20;  // error pages, listings; file bodies cost no memory
  po.connection.max_queued_items = opts_.max_pipelined;
  po.connection.idle_timeout = opts_.keepalive_timeout;
  pool_ = std::make_unique<net::ReactorPool>(po, [this](net::Connection& c) {
    return std::make_unique<HttpSession>(opts_, root_fd_, *threads_.at(c.loop().index()));
  });
  pool_->set_thread_init([this](net::EventLoop& loop) {
    ThreadState* ts = threads_.at(loop.index()).get();
    if (!ts->log.enabled()) return;
    // Flush the access log once a second (and whenever its buffer fills).
    ts->tick = [&loop, ts] {
      ts->log.flush();
      loop.run_after(std::chrono::milliseconds(1000), ts->tick);
    };
    loop.run_after(std::chrono::milliseconds(1000), ts->tick);
  });
  pool_->start();
}

void FileServer::stop(std::chrono::milliseconds grace) {
  if (pool_) pool_->stop(grace);
  for (auto& t : threads_) t->log.flush();
}

ServeStats FileServer::stats() const {
  ServeStats s;
  if (pool_) s.pool = pool_->stats();
  for (auto& t : threads_) s.requests += t->requests;  // approximate while running
  return s;
}

}  // namespace nocopy::serve
