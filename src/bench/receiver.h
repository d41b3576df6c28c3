// The far end of a transfer: a thread, pinned to its own CPU, that drains a
// socket into one reused buffer until EOF.
//
// It measures its own CPU (RUSAGE_THREAD) from just before its first recv to
// EOF, counts its recv calls, and timestamps the last byte it received; the
// sender's clock starts after wait_ready(), so the interval covers the whole
// transfer and nothing of thread start-up.
//
// The buffer belongs to the caller and is reused across receivers (touched
// once, so page faults stay out of every sample). One Receiver per
// connection; join() exactly once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "bench/cpu_usage.h"
#include "io/fd.h"

namespace nocopy::bench {

struct ReceiveResult {
  std::uint64_t bytes = 0;
  std::uint64_t recv_calls = 0;
  CpuUsage cpu;
  std::chrono::steady_clock::time_point last_byte{};
  std::uint64_t checksum = 0;  // StreamChecksum of the stream, when asked for
  std::string error;           // empty on a clean EOF
};

class Receiver {
 public:
  // cpu < 0: not pinned. progress (may be null) is advanced by each recv.
  Receiver(io::Fd sock, std::span<unsigned char> buffer, int cpu, bool checksum,
           std::atomic<std::uint64_t>* progress);
  ~Receiver();  // joins if the caller did not (after shutting the socket down)
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  void wait_ready();
  ReceiveResult join();

 private:
  void run();

  io::Fd sock_;
  std::span<unsigned char> buffer_;
  int cpu_;
  bool checksum_;
  std::atomic<std::uint64_t>* progress_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;
  ReceiveResult result_;
  std::thread thread_;
};

}  // namespace nocopy::bench
