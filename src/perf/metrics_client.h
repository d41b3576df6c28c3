// MetricsClient: fetches a Prometheus text exposition (e.g. the broker's
// /metrics) with a minimal HTTP/1.0 GET over a blocking TCP socket, and
// parses it into series.
//
// Setup-style errors: throws std::system_error naming the syscall (connect,
// send, recv, poll) or std::runtime_error for a non-200 status. Every socket
// operation is bounded by the timeout given, so a dead endpoint never hangs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace nocopy::perf {

// Series keyed by "name{labels}" exactly as exposed ("name" when unlabelled).
class Metrics {
 public:
  static Metrics parse(std::string_view text);

  // Sum of every series of metric `name` (all label sets); 0 if absent.
  double sum(std::string_view name) const;
  bool has(std::string_view name) const;
  const std::map<std::string, double, std::less<>>& series() const { return series_; }

 private:
  std::map<std::string, double, std::less<>> series_;
};

// GET http://host:port<path> and return the body.
std::string http_get(const std::string& host, std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout);

}  // namespace nocopy::perf
