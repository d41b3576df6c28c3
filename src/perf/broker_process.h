// BrokerProcess: a `nocopy broker` (or any server) started as a real child
// process for `perf compare` and the e2e tests.
//
// start() forks and execs `argv` with stdout/stderr appended to `log_path`;
// the child gets PR_SET_PDEATHSIG(SIGKILL) so it never outlives us.
// wait_listening() polls a TCP connect to host:port until it succeeds, the
// child exits (error, with the log's tail), or the timeout passes. stop()
// sends SIGTERM, waits up to `grace`, then SIGKILL; the destructor stops a
// running child. Signals go to this child's PID only.
//
// Setup-style errors: throws std::system_error (fork, execv via the log) or
// std::runtime_error with the broker log's last lines.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nocopy::perf {

class BrokerProcess {
 public:
  BrokerProcess() = default;
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;
  ~BrokerProcess();

  void start(const std::vector<std::string>& argv, const std::filesystem::path& log_path);
  void wait_listening(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);
  // Returns the exit status as waitpid reports it (or -1 if none was running).
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  pid_t pid() const { return pid_; }
  bool running();
  std::string log_tail(std::size_t max_bytes = 2000) const;

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it,
// close). Racy by nature; callers retry a failed start with a new port.
std::uint16_t pick_free_port();

}  // namespace nocopy::perf
