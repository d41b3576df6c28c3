// Keeps SIGPIPE from killing the process while a syscall that cannot take
// MSG_NOSIGNAL (sendfile, splice, write to a pipe) writes to a peer that went
// away.
//
// The guard blocks SIGPIPE in the calling thread for its lifetime; if the
// guarded code saw EPIPE (note_epipe()), the SIGPIPE the kernel queued for
// this thread is consumed before the old mask is restored. Nothing is changed
// process-wide, so an application that relies on SIGPIPE keeps it.
// Cost: two rt_sigprocmask calls per guard, or none at all once
// ignore_sigpipe_process_wide() was called (servers usually do).
//
// Thread-safety: a guard belongs to the thread that created it.
#pragma once

#include <signal.h>

namespace nocopy::io {

class SigpipeGuard {
 public:
  SigpipeGuard() noexcept;
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  void note_epipe() noexcept { epipe_ = true; }

 private:
  bool restore_ = false;  // we blocked SIGPIPE and must restore the mask
  bool epipe_ = false;
  sigset_t old_{};
};

// Sets SIGPIPE to SIG_IGN for the whole process and lets every later guard
// skip its syscalls. Throws std::system_error("sigaction") on failure.
void ignore_sigpipe_process_wide();
// Whether ignore_sigpipe_process_wide() was called (and not undone).
bool sigpipe_ignored_process_wide() noexcept;
// Undoes ignore_sigpipe_process_wide(): SIGPIPE back to SIG_DFL, guards active
// again (benchmarks compare both; tests restore the default).
void restore_sigpipe_default();

}  // namespace nocopy::io
