// A real etcd server for the cluster tests: /usr/bin/etcd (Debian's
// etcd-server) on free loopback ports, data in a fresh temporary directory,
// stopped by its PID. available() is false when the binary is missing, and
// the tests then skip saying so (NEED_ETCD() at the top of a test).
// eventually(): what the tests against it wait with.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace nocopy::cluster::test {

class EtcdProcess {
 public:
  static bool available();
  static std::string binary();

  EtcdProcess();   // starts etcd and waits until it answers (throws after 15 s)
  ~EtcdProcess();  // stop() and removes the data directory

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  std::string spec() const { return "etcd://127.0.0.1:" + std::to_string(client_port_); }
  std::uint16_t client_port() const { return client_port_; }

  void stop();     // SIGTERM, then SIGKILL after 5 s; waits for the exit
  void start();    // (re)starts on the same ports and data directory
  bool running() const { return pid_ > 0; }

 private:
  std::filesystem::path dir_;
  std::uint16_t client_port_ = 0, peer_port_ = 0;
  pid_t pid_ = -1;
};

// Polls `f` every 20 ms until it holds (true) or `limit` has passed (false).
inline bool eventually(const std::function<bool()>& f,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f();
}

}  // namespace nocopy::cluster::test

#define NEED_ETCD()                                                                                               \
  if (!::nocopy::cluster::test::EtcdProcess::available())                                                         \
  GTEST_SKIP() << "etcd not installed (" << ::nocopy::cluster::test::EtcdProcess::binary()                        \
               << "); scripts/setup.sh installs Debian's etcd-server"
