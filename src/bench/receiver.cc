#include "bench/receiver.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "bench/data_file.h"

namespace nocopy::bench {

Receiver::Receiver(io::Fd sock, std::span<unsigned char> buffer, int cpu, bool checksum,
                   std::atomic<std::uint64_t>* progress)
    : sock_(std::move(sock)), buffer_(buffer), cpu_(cpu), checksum_(checksum), progress_(progress) {
  thread_ = std::thread([this] { run(); });
}

Receiver::~Receiver() {
  if (thread_.joinable()) {
    ::shutdown(sock_.get(), SHUT_RDWR);
    thread_.join();
  }
}

void Receiver::wait_ready() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return ready_; });
}

ReceiveResult Receiver::join() {
  thread_.join();
  return std::move(result_);
}

void Receiver::run() {
  if (cpu_ >= 0) pin_this_thread(cpu_);
  ReceiveResult r;
  StreamChecksum sum;
  CpuUsage before;
  try {
    before = CpuUsage::this_thread();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  {
    std::lock_guard lock(mu_);
    ready_ = true;
  }
  cv_.notify_all();
  while (r.error.empty()) {
    const ssize_t n = ::recv(sock_.get(), buffer_.data(), buffer_.size(), 0);
    ++r.recv_calls;
    if (n > 0) {
      r.bytes += static_cast<std::uint64_t>(n);
      r.last_byte = std::chrono::steady_clock::now();
      if (checksum_) sum.update(buffer_.data(), static_cast<std::size_t>(n));
      if (progress_ != nullptr) progress_->store(r.bytes, std::memory_order_relaxed);
      continue;
    }
    if (n == 0) break;  // EOF: the sender shut its side down
    if (errno == EINTR) continue;
    r.error = fmt::format("recv: {}", std::strerror(errno));
  }
  try {
    r.cpu = CpuUsage::this_thread() - before;
  } catch (const std::exception& e) {
    if (r.error.empty()) r.error = e.what();
  }
  r.checksum = sum.value();
  result_ = std::move(r);
}

}  // namespace nocopy::bench
