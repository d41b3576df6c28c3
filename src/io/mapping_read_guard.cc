#include "io/mapping_read_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace nocopy::io {

namespace {

// This thread's guarded range; read by the SIGBUS handler, which runs on the
// faulting thread (SIGBUS from a memory access is synchronous).
struct GuardedRange {
  std::uintptr_t lo = 0;
  std::uintptr_t hi = 0;  // 0: no guard
  volatile sig_atomic_t faulted = 0;
};
thread_local GuardedRange t_range;

struct sigaction g_previous {};
std::atomic<std::uint64_t> g_absorbed{0};
std::uintptr_t g_page = 4096;

void on_sigbus(int sig, siginfo_t* info, void* uctx) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  GuardedRange& r = t_range;
  if (r.hi != 0 && addr >= r.lo && addr < r.hi) {
    // Raw syscall: nothing but the kernel runs inside the handler.
    const std::uintptr_t page = addr & ~(g_page - 1);
    const long m = ::syscall(SYS_mmap, page, g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (m != -1) {
      r.faulted = 1;
      g_absorbed.fetch_add(1, std::memory_order_relaxed);
      return;  // the read is retried and sees zeros
    }
  }
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // The default action: restore it and return, so the access faults again
  // and kills the process as it would have without a guard.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGBUS, &dfl, nullptr);
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    ::sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGBUS, &sa, &g_previous) != 0)
      throw std::system_error(errno, std::generic_category(), "sigaction(SIGBUS)");
  });
}

}  // namespace

MappingReadGuard::MappingReadGuard(const Mapping& m) {
  install_once();
  if (t_range.hi != 0) throw std::logic_error("MappingReadGuard: one guard per thread at a time");
  t_range.faulted = 0;
  t_range.lo = reinterpret_cast<std::uintptr_t>(m.data());
  t_range.hi = t_range.lo + m.size();
}

MappingReadGuard::~MappingReadGuard() {
  t_range.hi = 0;
  t_range.lo = 0;
}

bool MappingReadGuard::faulted() const noexcept { return t_range.faulted != 0; }

std::uint64_t MappingReadGuard::faults_absorbed() noexcept { return g_absorbed.load(std::memory_order_relaxed); }

}  // namespace nocopy::io
