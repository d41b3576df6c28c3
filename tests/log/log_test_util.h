// Helpers shared by the log tests: a temporary directory, batch makers, and
// reading FileRegions back into bytes.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "buf/file_region.h"
#include "log/record_batch.h"

namespace nocopy::log::test {

// /dev/shm when it is a usable directory, else the temp directory.
inline std::filesystem::path memory_dir() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

class TempDir {
 public:
  // `base` defaults to the temp directory (a real disk: fsync costs what it
  // costs). Logic-only tests may pass memory_dir() to avoid fsync latency.
  explicit TempDir(std::filesystem::path base = std::filesystem::temp_directory_path()) {
    std::string tmpl = (base / "nocopy-log-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

// One uncompressed batch of `records` records with values of `value_size`
// bytes derived from `seed` (so every batch is distinct).
inline std::vector<std::byte> make_batch(std::uint64_t seed, int records = 1, std::size_t value_size = 100,
                                         std::int64_t timestamp = 1000) {
  BatchBuilder b;
  b.timestamp(timestamp);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < records; ++i) {
    std::string v(value_size, '\0');
    for (auto& c : v) c = static_cast<char>('a' + rng() % 26);
    b.add("key-" + std::to_string(seed) + "-" + std::to_string(i), std::move(v), {{"h", "x"}}, i);
  }
  return b.build();
}

inline std::vector<std::byte> read_regions(const std::vector<buf::FileRegion>& regions) {
  std::vector<std::byte> out;
  for (const auto& r : regions) {
    std::size_t at = out.size();
    out.resize(at + r.length);
    std::size_t done = 0;
    while (done < r.length) {
      ssize_t n = ::pread(r.file->fd(), out.data() + at + done, r.length - done,
                          static_cast<off_t>(r.offset + done));
      if (n <= 0) throw std::runtime_error("pread of a region failed or hit EOF");
      done += static_cast<std::size_t>(n);
    }
  }
  return out;
}

// Bytes of disk (or tmpfs pages) allocated to `p` (st_blocks); 0 if it
// cannot be stat'ed.
inline std::uint64_t allocated_bytes(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

inline std::uint64_t page_up(std::uint64_t n) { return (n + 4095) / 4096 * 4096; }

// The newest segment's .log in `dir` (names sort by base offset).
inline std::filesystem::path newest_log_file(const std::filesystem::path& dir) {
  std::filesystem::path newest;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && (newest.empty() || e.path().filename() > newest.filename())) newest = e.path();
  }
  return newest;
}

}  // namespace nocopy::log::test
