#include "io/uring_send_zc_sender.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/syscall_util.h"

// Newer than liburing 2.3's headers (kernel 6.2).
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

namespace nocopy::io {

UringSendZcSender::UringSendZcSender(const SenderOptions& opts) : source_(opts.chunk_size) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  chunk_ = std::max(page, opts.chunk_size / page * page);
  std::string why;
  if (opts.force_fallback) {
    why = "io_uring: IORING_OP_SEND_ZC disabled by SenderOptions::force_fallback";
  } else if (uring_supports(IORING_OP_SEND_ZC, &why)) {
    ring_ = Uring::create(64, &why);
  }
  if (!ring_) {
    fallback_reason_ = why + "; using send() from a mapping";
    fallback_ = std::make_unique<MmapWriteSender>(opts.chunk_size);
    spdlog::info("io: uring_send_zc falls back: {}", fallback_reason_);
  }
}

Result<Progress> UringSendZcSender::fallback_send(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  ++counters_.fallbacks;
  return send_via(*fallback_, file_fd, offset, len, sock_fd);
}

bool UringSendZcSender::handle(io_uring_cqe* cqe, std::uint64_t want_id, int* res) {
  const std::uint64_t id = io_uring_cqe_get_data64(cqe);
  if (cqe->flags & IORING_CQE_F_NOTIF) {
    ++counters_.zc_completions;
    if (report_usage_ && (static_cast<std::uint32_t>(cqe->res) & IORING_NOTIF_USAGE_ZC_COPIED)) {
      ++counters_.zc_copied;
    }
    held_.erase(id);  // the kernel is done with the memory
    return false;
  }
  // A result CQE: without F_MORE no notification will follow.
  if (!(cqe->flags & IORING_CQE_F_MORE)) held_.erase(id);
  if (id == want_id) {
    *res = cqe->res;
    return true;
  }
  return false;
}

int UringSendZcSender::completion_fd() const { return ring_ ? ring_->get()->ring_fd : -1; }

Result<std::size_t> UringSendZcSender::reap(int) {
  if (!ring_) return 0;
  io_uring* ring = ring_->get();
  io_uring_cqe* cqe = nullptr;
  // Consume every CQE, not only while something is held: the ring's fd polls
  // readable while its CQ is non-empty, and an event loop watching it
  // (completion_fd()) would otherwise spin on a stray entry.
  while (io_uring_peek_cqe(ring, &cqe) == 0) {
    int ignored = 0;
    handle(cqe, 0, &ignored);
    io_uring_cqe_seen(ring, cqe);
  }
  return held_.size();
}

Result<void> UringSendZcSender::drain(int, int timeout_ms) {
  if (!ring_) return {};
  io_uring* ring = ring_->get();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!held_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fail(ETIMEDOUT, "io_uring_wait_cqe", fmt::format("{} SEND_ZC notifications never arrived", held_.size()));
    }
    __kernel_timespec ts{left.count() / 1000000, (left.count() % 1000000) * 1000};
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    ++counters_.syscalls;
    if (rc == -EINTR || rc == -ETIME) continue;
    if (rc < 0) return fail(-rc, "io_uring_wait_cqe");
    int ignored = 0;
    handle(cqe, 0, &ignored);
    io_uring_cqe_seen(ring, cqe);
  }
  return {};
}

Result<Progress> UringSendZcSender::send_memory_some(std::span<const std::byte> data, std::shared_ptr<const void> owner,
                                                     int sock_fd) {
  Progress p;
  if (data.empty()) return p;
  if (!ring_) {
    // No SEND_ZC: a plain send copies the bytes, so `owner` need not be held.
    ++counters_.fallbacks;
    while (p.bytes < data.size()) {
      const ssize_t n = ::send(sock_fd, data.data() + p.bytes, data.size() - p.bytes, MSG_NOSIGNAL);
      ++counters_.syscalls;
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          p.would_block = true;
          return p;
        }
        return fail(errno, "send", fmt::format("fd {}", sock_fd));
      }
      counters_.bytes_copied_user += static_cast<std::size_t>(n);
      p.bytes += static_cast<std::size_t>(n);
    }
    return p;
  }
  const int fl = ::fcntl(sock_fd, F_GETFL);
  ++counters_.syscalls;
  if (fl < 0) return fail(errno, "fcntl", fmt::format("socket fd {}", sock_fd));
  const int msg_flags = MSG_NOSIGNAL | ((fl & O_NONBLOCK) ? MSG_DONTWAIT : 0);
  io_uring* ring = ring_->get();
  reap(sock_fd);
  while (p.bytes < data.size()) {
    const std::size_t want = std::min(data.size() - p.bytes, detail::kMaxPerCall);
    const std::uint64_t id = next_id_++;
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (sqe == nullptr) {  // full of unsubmitted entries: cannot happen, we submit each one
      return fail(EBUSY, "io_uring_get_sqe");
    }
    io_uring_prep_send_zc(sqe, sock_fd, data.data() + p.bytes, want, msg_flags,
                          report_usage_ ? IORING_SEND_ZC_REPORT_USAGE : 0);
    io_uring_sqe_set_data64(sqe, id);
    held_.emplace(id, owner);  // before submit: the kernel may read it from now on
    int rc;
    do {
      rc = io_uring_submit_and_wait(ring, 1);
    } while (rc == -EINTR);
    ++counters_.syscalls;
    if (rc < 0) {
      held_.erase(id);  // not submitted
      return fail(-rc, "io_uring_enter", fmt::format("SEND_ZC fd {}", sock_fd));
    }
    int res = 0;
    for (bool got = false; !got;) {
      io_uring_cqe* cqe = nullptr;
      const int wr = io_uring_wait_cqe(ring, &cqe);
      if (wr == -EINTR) continue;
      if (wr < 0) return fail(-wr, "io_uring_wait_cqe");
      got = handle(cqe, id, &res);
      io_uring_cqe_seen(ring, cqe);
    }
    if (res == -EINVAL && report_usage_ && p.bytes == 0) {
      report_usage_ = false;  // kernel older than 6.2: no usage reports
      continue;
    }
    if (res == -EAGAIN) {
      p.would_block = true;
      return p;
    }
    if (res == -EINTR) continue;
    if (res < 0) return fail(-res, "io_uring send_zc", fmt::format("socket fd {}", sock_fd));
    if (res == 0) return fail(EIO, "io_uring send_zc", "sent 0 bytes");
    p.bytes += static_cast<std::size_t>(res);  // short send: the loop requeues the rest
    counters_.bytes_zero_copy += static_cast<std::size_t>(res);
  }
  return p;
}

Result<Progress> UringSendZcSender::send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) {
  if (fallback_) return fallback_send(file_fd, offset, len, sock_fd);
  return source_.send_windows(
      file_fd, offset, len, sock_fd, counters_, chunk_,
      [&](std::span<const std::byte> bytes, const std::shared_ptr<const Mapping>& window, off_t) {
        return send_memory_some(bytes, window, sock_fd);  // pins the window until IORING_CQE_F_NOTIF
      });
}

}  // namespace nocopy::io
