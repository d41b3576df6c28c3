#include "io/zero_copy_queue.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace nocopy::io {

void ZeroCopyQueue::complete(std::uint32_t lo, std::uint32_t hi, bool copied, Counters& c) {
  const std::uint32_t count = hi - lo + 1;  // modular: ranges may wrap
  c.zc_completions += count;
  if (copied) c.zc_copied += count;
  for (std::uint32_t id = lo;; ++id) {
    pending_.erase(id);
    if (id == hi) break;
  }
}

Result<std::size_t> ZeroCopyQueue::reap(int sock, Counters& c) {
  // Read until EAGAIN even once nothing is pending: a non-empty error queue
  // keeps the socket polling EPOLLERR (level-triggered), so leaving a stray
  // notification there would make an event loop spin.
  for (;;) {
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t r = ::recvmsg(sock, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    ++c.syscalls;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return fail(errno, "recvmsg", fmt::format("MSG_ERRQUEUE fd {}", sock));
    }
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      const bool v4 = cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR;
      const bool v6 = cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err serr;
      __builtin_memcpy(&serr, CMSG_DATA(cm), sizeof serr);
      if (serr.ee_origin != SO_EE_ORIGIN_ZEROCOPY || serr.ee_errno != 0) continue;
      complete(serr.ee_info, serr.ee_data, (serr.ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0, c);
    }
  }
  return pending_.size();
}

Result<void> ZeroCopyQueue::drain(int sock, int timeout_ms, Counters& c) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto r = reap(sock, c);
    if (!r) return std::unexpected(r.error());
    if (*r == 0) return {};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fail(ETIMEDOUT, "recvmsg", fmt::format("{} zero-copy sends on fd {} never completed", *r, sock));
    }
    pollfd p{sock, 0, 0};  // POLLERR is always reported: the error queue is readable
    const int pr = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    ++c.syscalls;
    if (pr < 0 && errno != EINTR) return fail(errno, "poll");
    // A socket with a pending error (peer reset) polls POLLERR|POLLHUP at once
    // even while its error queue is empty: back off instead of spinning.
    if (pr > 0 && (p.revents & POLLHUP)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace nocopy::io
