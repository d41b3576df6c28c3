#include "io/msg_zerocopy_sender.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/syscall_util.h"

namespace nocopy::io {

MsgZeroCopySender::MsgZeroCopySender(const SenderOptions& opts)
    : mem_(opts.zerocopy_threshold, &counters_) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  chunk_ = std::max(page, opts.chunk_size / page * page);
}

Result<Progress> MsgZeroCopySender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  Progress p;
  if (len == 0) return p;
  struct stat st{};
  ++counters_.syscalls;
  if (::fstat(file_fd, &st) != 0) return fail(errno, "fstat", detail::where(file_fd, offset, sock_fd));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return fail(S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "mmap", "source is not a regular file");
  }
  const std::uint64_t end = static_cast<std::uint64_t>(offset) + len;
  if (offset < 0 || end > static_cast<std::uint64_t>(st.st_size)) {
    return std::unexpected(detail::truncated("mmap", file_fd, static_cast<std::uint64_t>(offset), end));
  }
  if (window_ && (win_fd_ != file_fd || win_dev_ != st.st_dev || win_ino_ != st.st_ino)) window_.reset();

  const off_t page = static_cast<off_t>(::sysconf(_SC_PAGESIZE));
  while (p.bytes < len) {
    const off_t at = offset + static_cast<off_t>(p.bytes);
    if (!window_ || !window_->contains(at, 1)) {
      // In-flight sends keep their own reference to the old window.
      window_.reset();
      const off_t start = at - at % page;
      const std::size_t wlen = std::min<std::uint64_t>(chunk_, static_cast<std::uint64_t>(st.st_size - start));
      auto m = Mapping::map(file_fd, start, wlen);
      counters_.syscalls += 2;  // mmap now, munmap when the last send completes
      if (!m) return std::unexpected(m.error());
      window_ = std::move(*m);
      win_fd_ = file_fd;
      win_dev_ = st.st_dev;
      win_ino_ = st.st_ino;
    }
    const std::size_t in_win = window_->size() - static_cast<std::size_t>(at - window_->offset());
    const std::size_t want = std::min(len - p.bytes, in_win);
    const std::byte* src = window_->data() + (at - window_->offset());
    auto r = mem_.send_some(std::span(src, want), window_, sock_fd);
    if (!r) {
      if (r.error().err == EFAULT) {
        window_.reset();
        const long long now = detail::file_size(file_fd);
        if (now >= 0 && static_cast<std::uint64_t>(now) < end) {
          return std::unexpected(detail::truncated(r.error().syscall, file_fd, static_cast<std::uint64_t>(at), end));
        }
      }
      return std::unexpected(r.error());
    }
    p.bytes += r->bytes;
    if (r->would_block) {
      p.would_block = true;
      return p;
    }
  }
  return p;
}

}  // namespace nocopy::io
