#include "io/uring_splice_sender.h"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "io/sigpipe_guard.h"
#include "io/socket.h"
#include "io/syscall_util.h"

namespace nocopy::io {

namespace {
constexpr std::uint64_t kFileToPipe = 1;
constexpr std::uint64_t kPipeToSocket = 2;
}  // namespace

UringSpliceSender::UringSpliceSender(const SenderOptions& opts) : pipe_(opts.pipe_size) {
  std::string why;
  if (opts.force_fallback) {
    why = "io_uring: IORING_OP_SPLICE disabled by SenderOptions::force_fallback";
  } else if (uring_supports(IORING_OP_SPLICE, &why)) {
    ring_ = Uring::create(8, &why);
  }
  if (!ring_) {
    fallback_reason_ = why + "; using splice(2)";
    fallback_ = std::make_unique<SpliceSender>(opts.pipe_size);
    spdlog::info("io: uring_splice falls back: {}", fallback_reason_);
  }
}

Result<Progress> UringSpliceSender::fallback_send(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  ++counters_.fallbacks;
  return send_via(*fallback_, file_fd, offset, len, sock_fd);
}

Result<bool> UringSpliceSender::writable(int file_fd, off_t at, int sock_fd) {
  for (;;) {
    pollfd pf{sock_fd, POLLOUT, 0};
    const int pr = ::poll(&pf, 1, 0);
    ++counters_.syscalls;
    if (pr > 0) return true;
    if (pr == 0) return false;
    if (errno != EINTR) return fail(errno, "poll", detail::where(file_fd, at, sock_fd));
  }
}

Result<UringSpliceSender::SpliceResults> UringSpliceSender::splice_round(int file_fd, off_t at, int sock_fd,
                                                                         std::size_t want, bool fill,
                                                                         unsigned sock_flags) {
  io_uring* ring = ring_->get();
  if (fill) {
    io_uring_sqe* s1 = io_uring_get_sqe(ring);
    io_uring_prep_splice(s1, file_fd, at, pipe_.pipe().write_fd(), -1, static_cast<unsigned>(want), SPLICE_F_MOVE);
    s1->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(s1, kFileToPipe);
  }
  io_uring_sqe* s2 = io_uring_get_sqe(ring);
  io_uring_prep_splice(s2, pipe_.pipe().read_fd(), -1, sock_fd, -1, static_cast<unsigned>(want), sock_flags);
  io_uring_sqe_set_data64(s2, kPipeToSocket);
  const unsigned expect = fill ? 2 : 1;
  int rc;
  do {
    rc = io_uring_submit_and_wait(ring, expect);
  } while (rc == -EINTR);
  ++counters_.syscalls;
  if (rc < 0) return fail(-rc, "io_uring_enter", detail::where(file_fd, at, sock_fd));
  SpliceResults r;
  for (unsigned seen = 0; seen < expect;) {
    io_uring_cqe* cqe = nullptr;
    int wr = io_uring_wait_cqe(ring, &cqe);
    if (wr == -EINTR) continue;
    if (wr < 0) return fail(-wr, "io_uring_wait_cqe");
    (io_uring_cqe_get_data64(cqe) == kFileToPipe ? r.file : r.socket) = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    ++seen;
  }
  return r;
}

Result<Progress> UringSpliceSender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  if (fallback_) return fallback_send(file_fd, offset, len, sock_fd);
  Progress p;
  if (len == 0) return p;
  pipe_.prepare(file_fd, offset, counters_);
  int fl = ::fcntl(sock_fd, F_GETFL);
  ++counters_.syscalls;
  if (fl < 0) return fail(errno, "fcntl", detail::where(file_fd, offset, sock_fd));
  const bool nonblocking = (fl & O_NONBLOCK) != 0;
  SigpipeGuard guard;

  while (p.bytes < len) {
    const off_t at = offset + static_cast<off_t>(p.bytes);
    if (nonblocking) {
      auto w = writable(file_fd, at, sock_fd);
      if (!w) return std::unexpected(w.error());
      if (!*w) {
        pipe_.keep(file_fd, at, counters_);
        p.would_block = true;
        return p;
      }
    }
    const bool fill = pipe_.held() == 0;
    const std::size_t want =
        fill ? std::min(len - p.bytes, pipe_.pipe().capacity()) : std::min(pipe_.held(), len - p.bytes);
    const unsigned more = (p.bytes + want < len) ? SPLICE_F_MORE : 0;
    auto r = splice_round(file_fd, at, sock_fd, want, fill,
                          SPLICE_F_MOVE | (nonblocking ? SPLICE_F_NONBLOCK : 0) | more);
    if (!r) return std::unexpected(r.error());
    if (fill) {
      if (r->file < 0) {
        return fail(-r->file, "io_uring splice",
                    detail::where(file_fd, at, pipe_.pipe().write_fd()) + " (file -> pipe)");
      }
      if (r->file == 0) {
        return std::unexpected(detail::truncated("io_uring splice", file_fd, static_cast<std::uint64_t>(at),
                                                 static_cast<std::uint64_t>(offset) + len));
      }
      pipe_.filled(static_cast<std::size_t>(r->file));
    }
    if (r->socket == -ECANCELED || r->socket == -EINTR) continue;  // short file->pipe broke the link: retry
    if (r->socket == -EAGAIN) {
      pipe_.keep(file_fd, at, counters_);
      p.would_block = true;
      return p;
    }
    if (r->socket < 0) {
      if (r->socket == -EPIPE) guard.note_epipe();
      pipe_.discard();
      return fail(-r->socket, "io_uring splice", detail::where(file_fd, at, sock_fd) + " (pipe -> socket)");
    }
    if (r->socket == 0) return fail(EIO, "io_uring splice", "pipe -> socket moved 0 bytes");
    pipe_.drained(static_cast<std::size_t>(r->socket));
    p.bytes += static_cast<std::size_t>(r->socket);
    counters_.bytes_zero_copy += static_cast<std::size_t>(r->socket);
  }
  pipe_.sent_up_to(offset + static_cast<off_t>(len));
  return p;
}

}  // namespace nocopy::io
