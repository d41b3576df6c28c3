#include "bench/options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "bench/units.h"

namespace nocopy::bench {

namespace {

void check_output_path(const std::filesystem::path& p, const char* what) {
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw std::invalid_argument(fmt::format("{} {}: is a directory", what, p.string()));
  }
  const auto parent = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::invalid_argument(fmt::format("{} {}: directory {} does not exist", what, p.string(), parent.string()));
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    throw std::invalid_argument(fmt::format("{} {}: {} is not writable", what, p.string(), parent.string()));
  }
}

}  // namespace

void Options::validate() const {
  if (techniques.empty()) throw std::invalid_argument("no strategy to run");
  if (sizes.empty()) throw std::invalid_argument("no size to run");
  for (auto s : sizes) {
    if (s == 0) throw std::invalid_argument("size 0: nothing to transfer");
  }
  if (runs < 1 || runs > 1000) throw std::invalid_argument(fmt::format("--runs {}: must be 1..1000", runs));
  if (chunk == 0 || chunk > (1u << 30)) throw std::invalid_argument("--chunk must be 1 byte .. 1G");
  if (pipe_size == 0 || pipe_size > (1u << 30)) throw std::invalid_argument("--pipe-size must be 1 byte .. 1G");
  if (recv_buffer == 0 || recv_buffer > (1u << 30)) throw std::invalid_argument("--recv-buffer must be 1 byte .. 1G");
  if (workload == Workload::small) {
    if (messages == 0) throw std::invalid_argument("--messages 0: nothing to send");
    if (file_size == 0) throw std::invalid_argument("--file-size 0: nothing to send");
  }
  if (file) {
    struct stat st {};
    if (::stat(file->c_str(), &st) != 0) {
      throw std::invalid_argument(fmt::format("--file {}: {}", file->string(), std::strerror(errno)));
    }
    if (S_ISDIR(st.st_mode)) throw std::invalid_argument(fmt::format("--file {}: is a directory", file->string()));
    if (!S_ISREG(st.st_mode)) throw std::invalid_argument(fmt::format("--file {}: not a regular file", file->string()));
    const int fd = ::open(file->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::invalid_argument(fmt::format("--file {}: {}", file->string(), std::strerror(errno)));
    ::close(fd);
    const auto fsize = static_cast<std::uint64_t>(st.st_size);
    if (fsize == 0) throw std::invalid_argument(fmt::format("--file {}: is empty", file->string()));
    for (auto s : sizes) {
      if (s > fsize) {
        throw std::invalid_argument(fmt::format("size {} is larger than --file {} ({} bytes)", format_size(s),
                                                file->string(), fsize));
      }
    }
    if (verify) throw std::invalid_argument("--verify needs a generated data file (drop --file)");
  } else if (workload == Workload::small) {
    for (auto s : sizes) {
      if (s > file_size) throw std::invalid_argument(fmt::format("message size {} > --file-size", format_size(s)));
    }
  }
  if (!data_dir.empty()) {
    struct stat st {};
    if (::stat(data_dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      throw std::invalid_argument(fmt::format("--data-dir {}: not a directory", data_dir.string()));
    }
  }
  if (json) check_output_path(*json, "--json");
  if (svg) check_output_path(*svg, "--svg");
}

}  // namespace nocopy::bench
