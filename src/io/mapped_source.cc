#include "io/mapped_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/syscall_util.h"

namespace nocopy::io {

MappedSource::MappedSource(std::size_t window_bytes) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  window_bytes_ = std::max(page, window_bytes / page * page);
}

Result<void> MappedSource::begin(int file_fd, off_t offset, std::size_t len, int sock_fd, Counters& counters) {
  ++counters.syscalls;
  if (::fstat(file_fd, &st_) != 0) return fail(errno, "fstat", detail::where(file_fd, offset, sock_fd));
  if (!S_ISREG(st_.st_mode) && !S_ISBLK(st_.st_mode)) {
    return fail(S_ISDIR(st_.st_mode) ? EISDIR : EINVAL, "mmap", "source is not a regular file");
  }
  const std::uint64_t end = static_cast<std::uint64_t>(offset) + len;
  if (offset < 0 || end > static_cast<std::uint64_t>(st_.st_size)) {
    return std::unexpected(detail::truncated("mmap", file_fd, static_cast<std::uint64_t>(offset), end));
  }
  if (window_ && (win_fd_ != file_fd || win_dev_ != st_.st_dev || win_ino_ != st_.st_ino)) window_.reset();
  return {};
}

Result<std::shared_ptr<const Mapping>> MappedSource::window_at(int file_fd, off_t at, Counters& counters) {
  if (window_ && window_->contains(at, 1)) return window_;
  window_.reset();  // in-flight zero-copy sends keep their own reference
  const off_t page = static_cast<off_t>(::sysconf(_SC_PAGESIZE));
  const off_t start = at - at % page;
  const std::size_t wlen = std::min<std::uint64_t>(window_bytes_, static_cast<std::uint64_t>(st_.st_size - start));
  auto m = Mapping::map(file_fd, start, wlen);
  counters.syscalls += 2;  // mmap now, munmap when the last holder lets go
  if (!m) return std::unexpected(m.error());
  window_ = std::move(*m);
  win_fd_ = file_fd;
  win_dev_ = st_.st_dev;
  win_ino_ = st_.st_ino;
  return window_;
}

IoError MappedSource::truncation_or(IoError e, int file_fd, off_t at, off_t offset, std::size_t len) {
  if (e.err != EFAULT) return e;
  // The kernel faulted reading the mapping: the file shrank under it.
  window_.reset();
  const std::uint64_t end = static_cast<std::uint64_t>(offset) + len;
  const long long now = detail::file_size(file_fd);
  if (now >= 0 && static_cast<std::uint64_t>(now) < end) {
    return detail::truncated(e.syscall, file_fd, static_cast<std::uint64_t>(at), end);
  }
  return e;
}

}  // namespace nocopy::io
