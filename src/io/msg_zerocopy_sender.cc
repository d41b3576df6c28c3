#include "io/msg_zerocopy_sender.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/syscall_util.h"

namespace nocopy::io {

MsgZeroCopySender::MsgZeroCopySender(const SenderOptions& opts)
    : mem_(opts.zerocopy_threshold, &counters_), source_(opts.chunk_size) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  chunk_ = std::max(page, opts.chunk_size / page * page);
}

Result<Progress> MsgZeroCopySender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  return source_.send_windows(
      file_fd, offset, len, sock_fd, counters_, chunk_,
      [&](std::span<const std::byte> bytes, const std::shared_ptr<const Mapping>& window, off_t) {
        return mem_.send_some(bytes, window, sock_fd);  // pins the window until its completion
      });
}

}  // namespace nocopy::io
