// FileServer: `nocopy serve` -- static files over HTTP/1.1 on the net
// reactor, each response a buf::Chain of header bytes + a FileRegion sent
// with the configured io::Strategy (default sendfile), TCP_CORK around
// header + body decided by the connection (net/outbound_queue.h).
//
// Threads: one net::ReactorPool; per thread one io::FileSender, one
// buf::ChainSender and one AccessLog (FileServer::ThreadState), so the data
// path takes no lock.
//
// Confinement: the served directory is opened once (O_PATH|O_DIRECTORY);
// every request path is first normalised by resolve_target() (".." -> 403,
// NUL -> 400) and then opened with openat2(dirfd, path,
// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): a symlink that leaves the
// directory, or any other escape the kernel sees, fails with EXDEV -> 403.
// Only regular files and directories are served (FIFOs, devices: 403; files
// are opened O_NONBLOCK so a FIFO cannot block a reactor).
//
// Memory per connection is bounded by the net::Connection limits set from
// ServeOptions (read buffer = request line + header limits + slack; output
// queue: at most max_pipelined responses, whose bodies are file regions).
//
// start() throws std::system_error (bind, open of DIR); stop() is graceful.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "buf/chain_sender.h"
#include "io/strategy.h"
#include "io/transfer.h"
#include "net/reactor_pool.h"
#include "serve/access_log.h"
#include "serve/http_request.h"

namespace nocopy::serve {

struct ServeOptions {
  std::filesystem::path root = ".";
  std::string listen = "127.0.0.1:8080";
  std::size_t threads = 1;
  io::Strategy transfer = io::Strategy::sendfile;
  bool list = false;
  bool access_log = true;
  std::string access_log_path;  // empty: stdout
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds header_timeout{10'000};     // whole request head must arrive within this
  std::chrono::milliseconds keepalive_timeout{75'000};  // idle (no byte either way) -> close
  HttpLimits limits;
  std::size_t max_pipelined = 16;  // queued responses per connection before reading pauses
};

struct ServeStats {
  net::PoolStats pool;
  std::uint64_t requests = 0;
};

class FileServer {
 public:
  explicit FileServer(ServeOptions opts);
  ~FileServer();
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;

  void start();
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5'000));
  std::uint16_t port() const { return pool_ ? pool_->port() : 0; }
  const ServeOptions& options() const { return opts_; }
  int root_fd() const { return root_fd_; }
  ServeStats stats() const;

  struct ThreadState {
    std::unique_ptr<io::FileSender> file_sender;
    std::unique_ptr<buf::ChainSender> chain_sender;
    AccessLog log;
    std::uint64_t requests = 0;
    std::time_t date_time = -1;
    std::string date;  // cached "Date:" value for date_time
    std::function<void()> tick;  // access-log flush timer (re-arms itself)
    const std::string& http_date_now();
  };

 private:
  ServeOptions opts_;
  int root_fd_ = -1;
  int log_fd_ = -1;
  bool own_log_fd_ = false;
  std::vector<std::unique_ptr<ThreadState>> threads_;
  std::unique_ptr<net::ReactorPool> pool_;
};

}  // namespace nocopy::serve
