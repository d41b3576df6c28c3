#include "io/sigpipe_guard.h"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <system_error>

namespace nocopy::io {

namespace {
std::atomic<bool> g_ignored{false};

sigset_t sigpipe_set() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  return s;
}
}  // namespace

SigpipeGuard::SigpipeGuard() noexcept {
  if (g_ignored.load(std::memory_order_relaxed)) return;
  const sigset_t s = sigpipe_set();
  if (::pthread_sigmask(SIG_BLOCK, &s, &old_) != 0) return;
  // Already blocked by the caller: leave any pending SIGPIPE to them.
  restore_ = !sigismember(&old_, SIGPIPE);
}

SigpipeGuard::~SigpipeGuard() {
  if (!restore_) return;
  if (epipe_) {
    const int saved = errno;
    sigset_t pending;
    if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
      const sigset_t s = sigpipe_set();
      const struct timespec zero{0, 0};
      while (::sigtimedwait(&s, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    errno = saved;
  }
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

void ignore_sigpipe_process_wide() {
  struct sigaction sa{};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGPIPE, &sa, nullptr) != 0) {
    throw std::system_error(errno, std::system_category(), "sigaction(SIGPIPE, SIG_IGN)");
  }
  g_ignored.store(true, std::memory_order_relaxed);
}

void restore_sigpipe_default() {
  struct sigaction sa{};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  g_ignored.store(false, std::memory_order_relaxed);
  if (::sigaction(SIGPIPE, &sa, nullptr) != 0) {
    throw std::system_error(errno, std::system_category(), "sigaction(SIGPIPE, SIG_DFL)");
  }
}

bool sigpipe_ignored_process_wide() noexcept { return g_ignored.load(std::memory_order_relaxed); }

}  // namespace nocopy::io
