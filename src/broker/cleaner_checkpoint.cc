#include "broker/cleaner_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace nocopy::broker {

namespace {

[[noreturn]] void throw_errno(const char* call, const std::filesystem::path& p) {
  throw std::system_error(errno, std::generic_category(), std::string(call) + " " + p.string());
}

template <class T>
bool parse(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

void write_all(int fd, const std::string& text, const std::filesystem::path& p) {
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;  // 0 bytes on a regular file: an I/O error
      ::close(fd);
      errno = e;
      throw_errno("write", p);
    }
    off += static_cast<std::size_t>(n);
  }
}

void fsync_fd(int fd, const std::filesystem::path& p) {
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw_errno("fsync", p);
  }
}

}  // namespace

CleanerCheckpoint::Offsets CleanerCheckpoint::load(const std::filesystem::path& data_dir) {
  const auto file = data_dir / kFileName;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec) && !ec) return {};
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  auto bad = [&](std::size_t line, const std::string& why) {
    return std::runtime_error(file.string() + ":" + std::to_string(line) + ": " + why);
  };
  std::string line;
  std::int64_t version = -1;
  std::int64_t count = -1;
  if (!std::getline(in, line) || !parse(std::string_view(line), version) || version != 0)
    throw bad(1, "expected version 0");
  if (!std::getline(in, line) || !parse(std::string_view(line), count) || count < 0)
    throw bad(2, "expected the number of entries");
  Offsets out;
  for (std::int64_t i = 0; i < count; ++i) {
    const std::size_t lineno = static_cast<std::size_t>(i) + 3;
    if (!std::getline(in, line)) throw bad(lineno, "missing entry (the file says " + std::to_string(count) + ")");
    // The topic name cannot hold a blank; the last two fields are numbers.
    std::string_view l(line);
    auto s2 = l.rfind(' ');
    auto s1 = s2 == std::string_view::npos ? s2 : l.rfind(' ', s2 - 1);
    std::int32_t part = -1;
    std::int64_t offset = -1;
    if (s1 == std::string_view::npos || s1 == 0 || !parse(l.substr(s1 + 1, s2 - s1 - 1), part) ||
        !parse(l.substr(s2 + 1), offset) || part < 0 || offset < 0)
      throw bad(lineno, "expected '<topic> <partition> <offset>'");
    out[{std::string(l.substr(0, s1)), part}] = offset;
  }
  return out;
}

void CleanerCheckpoint::save(const std::filesystem::path& data_dir, const Offsets& offsets) {
  std::string text = "0\n" + std::to_string(offsets.size()) + "\n";
  for (const auto& [k, off] : offsets) text += k.first + " " + std::to_string(k.second) + " " + std::to_string(off) + "\n";
  const auto file = data_dir / kFileName;
  const auto tmp = data_dir / (std::string(kFileName) + ".tmp");
  int fd;
  do fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno("open", tmp);
  write_all(fd, text, tmp);
  fsync_fd(fd, tmp);
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) throw_errno("rename", file);
  do fd = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno("open", data_dir);
  fsync_fd(fd, data_dir);
  ::close(fd);
}

}  // namespace nocopy::broker
