#include "test_util.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include <fmt/format.h>

namespace nocopy::io::test {

void fill_pattern(std::uint8_t* dst, std::size_t n, std::uint64_t off) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = pattern_byte(off + i);
}

TempDir::TempDir(const std::filesystem::path& base) {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    auto p = base / fmt::format("nocopy-io-test-{}-{:x}", ::getpid(), rd());
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("TempDir: cannot create a directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_pattern_file(const std::filesystem::path& path, std::uint64_t size) {
  File f = File::open(path, File::Mode::truncate_rw);
  std::vector<std::uint8_t> buf(1 << 20);
  for (std::uint64_t off = 0; off < size;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
    fill_pattern(buf.data(), n, off);
    auto r = f.pwrite_full(std::as_bytes(std::span(buf.data(), n)), off);
    if (!r) throw std::runtime_error(r.error().message());
    off += n;
  }
}

bool Expect::check(const std::uint8_t* p, std::size_t n, std::uint64_t off, std::string* why) const {
  std::size_t i = 0;
  while (i < n) {
    const std::uint64_t o = off + i;
    // Find the run [o, run_end) that is entirely pattern or entirely hole.
    bool in = regions.empty();
    std::uint64_t run_end = off + n;
    for (auto& [a, b] : regions) {
      if (o >= a && o < b) {
        in = true;
        run_end = std::min(run_end, b);
      } else if (a > o) {
        run_end = std::min(run_end, a);
      }
    }
    const std::size_t len = static_cast<std::size_t>(run_end - o);
    for (std::size_t k = 0; k < len; ++k) {
      const std::uint8_t want = in ? pattern_byte(o + k) : 0;
      if (p[i + k] != want) {
        *why = fmt::format("byte at file offset {} is {:#x}, expected {:#x}", o + k, p[i + k], want);
        return false;
      }
    }
    i += len;
  }
  return true;
}

Receiver::Receiver(int fd, std::uint64_t base, Expect expect, Options o)
    : fd_(fd), base_(base), expect_(std::move(expect)), opts_(o), thread_([this] { run(); }) {}

Receiver::~Receiver() {
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Receiver::join() {
  if (thread_.joinable()) thread_.join();
  return received_.load();
}

void Receiver::wait_for(std::uint64_t n) const {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return received_.load() >= n || done_.load(); });
}

void Receiver::run() {
  std::vector<std::uint8_t> buf(opts_.read_size);
  std::uint64_t got = 0;
  // Fast path for large sparse ranges: compare whole chunks where possible.
  while (true) {
    std::size_t want = buf.size();
    if (opts_.close_after != SIZE_MAX) want = std::min<std::uint64_t>(want, opts_.close_after - got);
    if (want == 0) break;
    const ssize_t n = ::recv(fd_, buf.data(), want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (mismatch_.empty()) expect_.check(buf.data(), static_cast<std::size_t>(n), base_ + got, &mismatch_);
    got += static_cast<std::uint64_t>(n);
    {
      std::lock_guard lk(mu_);
      received_.store(got);
    }
    cv_.notify_all();
    if (opts_.delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(opts_.delay_us));
  }
  // Closing with unread data queued makes the kernel send an RST.
  if (opts_.close_after != SIZE_MAX) ::close(fd_);
  {
    std::lock_guard lk(mu_);
    done_.store(true);
    received_.store(got);
  }
  cv_.notify_all();
}

Result<std::uint64_t> send_all(FileSender& s, int file_fd, off_t offset, std::uint64_t len, int sock,
                               int poll_timeout_ms) {
  std::uint64_t done = 0;
  while (done < len) {
    auto r = s.send_some(file_fd, offset + static_cast<off_t>(done), len - done, sock);
    if (!r) return std::unexpected(r.error());
    done += r->bytes;
    if (r->would_block) {
      pollfd p{sock, POLLOUT, 0};
      const int pr = ::poll(&p, 1, poll_timeout_ms);
      if (pr == 0) return fail(ETIMEDOUT, "poll", fmt::format("socket not writable after {} ms", poll_timeout_ms));
      if (pr < 0 && errno != EINTR) return fail(errno, "poll");
    } else if (r->bytes == 0 && done < len) {
      return fail(EIO, "send_some", "no progress without would_block");
    }
  }
  auto d = s.drain(sock);
  if (!d) return std::unexpected(d.error());
  return done;
}

}  // namespace nocopy::io::test
