#include "bench/data_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/fd.h"

namespace nocopy::bench {

namespace fs = std::filesystem;

fs::path default_data_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') return fs::path(x) / "nocopy";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') return fs::path(h) / ".cache" / "nocopy";
  return "/tmp/nocopy-cache";
}

std::uint64_t data_word_at(std::uint64_t i) {
  // splitmix64: cheap, and no two nearby words are alike.
  std::uint64_t z = i + 0x9e3779b97f4a7c15ull * (i + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {

unsigned char data_byte_at(std::uint64_t offset) {
  return static_cast<unsigned char>(data_word_at(offset / 8) >> (8 * (offset % 8)));
}

std::system_error sys_error(const char* call, const fs::path& p) {
  return std::system_error(errno, std::generic_category(), fmt::format("{} {}", call, p.string()));
}

void write_file(const fs::path& tmp, std::uint64_t size) {
  io::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw sys_error("open", tmp);
  constexpr std::size_t kBuf = 1 << 20;
  std::vector<std::uint64_t> words(kBuf / 8);
  std::uint64_t off = 0;
  while (off < size) {
    for (std::size_t w = 0; w < words.size(); ++w) words[w] = data_word_at(off / 8 + w);
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kBuf, size - off));
    const auto* p = reinterpret_cast<const char*>(words.data());
    std::size_t done = 0;
    while (done < n) {
      const ssize_t w = ::pwrite(fd.get(), p + done, n - done, static_cast<off_t>(off + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw sys_error("pwrite", tmp);
      }
      if (w == 0) throw std::system_error(EIO, std::generic_category(), "pwrite returned 0: " + tmp.string());
      done += static_cast<std::size_t>(w);
    }
    off += n;
  }
  if (::fdatasync(fd.get()) != 0) throw sys_error("fdatasync", tmp);
}

}  // namespace

DataFile ensure_data_file(const fs::path& dir, std::uint64_t size) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "mkdir " + dir.string());
  if (!fs::is_directory(dir)) throw std::system_error(ENOTDIR, std::generic_category(), dir.string());
  const fs::path path = dir / fmt::format("nocopy-bench-{}.dat", size);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) == size) {
    return {path, false};
  }
  spdlog::info("bench: writing data file {} ({} bytes, once; later runs reuse it)", path.string(), size);
  const fs::path tmp = dir / fmt::format(".nocopy-bench-{}.{}.tmp", size, ::getpid());
  try {
    write_file(tmp, size);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    throw sys_error("rename", path);
  }
  return {path, true};
}

void StreamChecksum::update(const unsigned char* p, std::size_t n) {
  std::uint64_t h = h_;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  h_ = h;
}

std::uint64_t expected_checksum(std::uint64_t offset, std::uint64_t len) {
  StreamChecksum c;
  unsigned char buf[4096];
  while (len > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, len));
    for (std::size_t i = 0; i < n; ++i) buf[i] = data_byte_at(offset + i);
    c.update(buf, n);
    offset += n;
    len -= n;
  }
  return c.value();
}

}  // namespace nocopy::bench
