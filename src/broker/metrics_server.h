// MetricsServer: a tiny HTTP/1.0 server on a loopback port answering
// `GET /metrics` with Metrics::render() (Prometheus text format 0.0.4) and
// 404 for anything else. One thread; each request is read with a 2 s timeout,
// answered, and closed, so a stuck scraper cannot hold it for long.
//
// Errors: bind/listen failures throw std::system_error naming the syscall.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "broker/config.h"
#include "io/fd.h"

namespace nocopy::broker {

class MetricsServer {
 public:
  MetricsServer(const HostPort& listen, std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::uint16_t port() const { return port_; }
  void stop();

 private:
  void run();
  void serve_one(int fd);
  io::Fd listen_fd_;
  io::Fd wake_fd_;  // eventfd: stop()
  std::uint16_t port_ = 0;
  std::function<std::string()> render_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace nocopy::broker
