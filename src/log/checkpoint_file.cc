#include "log/checkpoint_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>
#include <system_error>

#include <spdlog/spdlog.h>

#include "io/file.h"

namespace nocopy::log {

void fsync_directory(const std::filesystem::path& dir) {
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    spdlog::warn("log {}: open for fsync: {}", dir.string(), std::strerror(errno));
    return;
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {
    spdlog::warn("log {}: fsync of the directory: {}", dir.string(), std::strerror(errno));
  }
  ::close(fd);
}

LogResult<void> write_checkpoint_file(const std::filesystem::path& dir, std::string_view name, std::string_view text) {
  const std::filesystem::path tmp = dir / (std::string(name) + ".tmp");
  try {
    io::File f = io::File::open(tmp, io::File::Mode::truncate_rw);
    if (auto r = f.pwrite_full(std::as_bytes(std::span(text.data(), text.size())), 0); !r) {
      return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
    }
    if (auto r = f.fdatasync(); !r) return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
  } catch (const std::system_error& e) {
    return log_fail(LogErrc::storage_error, e.what(), e.code().value());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, dir / name, ec);
  if (ec) return log_fail(LogErrc::storage_error, "rename " + tmp.string() + ": " + ec.message(), ec.value());
  fsync_directory(dir);
  return {};
}

std::optional<std::string> read_checkpoint_file(const std::filesystem::path& dir, std::string_view name) {
  std::ifstream in(dir / name);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

}  // namespace nocopy::log
