// Helpers for the io tests: temp files with a position-dependent pattern, a
// receiver thread that checks every byte against the file offset it must
// come from, and a driver that pushes a range through a FileSender.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "io/file.h"
#include "io/transfer.h"

namespace nocopy::io::test {

// True when built with AddressSanitizer: heavy tests scale down.
constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__)
    true;
#else
    false;
#endif

// The byte every test file holds at offset `off` (holes excepted): depends on
// the offset so a lost, duplicated or shifted byte is detected.
inline std::uint8_t pattern_byte(std::uint64_t off) {
  std::uint64_t x = off * 0x9E3779B97F4A7C15ull;
  return static_cast<std::uint8_t>((x >> 29) ^ (x >> 47) ^ off);
}
void fill_pattern(std::uint8_t* dst, std::size_t n, std::uint64_t off);

// A directory removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path());
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `size` pattern bytes to a new file at `path`.
void write_pattern_file(const std::filesystem::path& path, std::uint64_t size);

// Expected content of a file: pattern inside `regions` (half-open), zero
// elsewhere (a sparse file). Empty regions = pattern everywhere.
struct Expect {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> regions;
  bool check(const std::uint8_t* p, std::size_t n, std::uint64_t off, std::string* why) const;
};

// Reads a socket until EOF (or error) on its own thread, checking each byte
// against `expect` starting at file offset `base`.
class Receiver {
 public:
  struct Options {
    std::size_t read_size = 1 << 16;
    int delay_us = 0;                // sleep between reads: a slow reader
    // Close the socket (the Receiver then owns fd) after this many bytes.
    std::size_t close_after = SIZE_MAX;
  };
  Receiver(int fd, std::uint64_t base, Expect expect, Options o);
  Receiver(int fd, std::uint64_t base, Expect expect = {}) : Receiver(fd, base, std::move(expect), Options{}) {}
  ~Receiver();
  // Waits for the thread; returns the bytes received.
  std::uint64_t join();
  bool ok() const { return mismatch_.empty(); }
  const std::string& mismatch() const { return mismatch_; }
  std::uint64_t received() const { return received_.load(); }
  // Blocks until at least n bytes arrived or the reader stopped.
  void wait_for(std::uint64_t n) const;

 private:
  void run();
  int fd_;
  std::uint64_t base_;
  Expect expect_;
  Options opts_;
  std::atomic<std::uint64_t> received_{0};
  std::atomic<bool> done_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string mismatch_;
  std::thread thread_;
};

// Sends [offset, offset+len) through `s`, polling for POLLOUT (bounded) on
// would_block, then drain()s. Returns the first error, if any.
Result<std::uint64_t> send_all(FileSender& s, int file_fd, off_t offset, std::uint64_t len, int sock,
                               int poll_timeout_ms = 10000);

}  // namespace nocopy::io::test
