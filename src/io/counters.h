// Per-call accounting shared by every transfer strategy.
//
// Thread-safety: a Counters value is plain data owned by one sender; aggregate
// across threads by adding snapshots.
#pragma once

#include <cstdint>

namespace nocopy::io {

struct Counters {
  // Every syscall the strategy made (incl. EAGAIN ones and fstat/mmap
  // bookkeeping; io_uring_enter counts once per submission). Not counted: the
  // SigpipeGuard's two rt_sigprocmask calls around sendfile/splice when
  // SIGPIPE is not ignored process-wide.
  std::uint64_t syscalls = 0;
  // Bytes that passed through a user-space address, counted ONCE per byte
  // moved: read_write counts the bytes read into its buffer (send() copies them
  // a second time, not counted again); mmap_write counts the bytes send()
  // copied out of the mapping; a plain-send fallback of a zero-copy strategy
  // counts what it sent.
  std::uint64_t bytes_copied_user = 0;
  // Bytes moved without any user-space copy: sendfile, splice, copy_file_range,
  // and MSG_ZEROCOPY / SEND_ZC sends (even when the kernel later reports it
  // copied them -- see zc_copied).
  std::uint64_t bytes_zero_copy = 0;
  std::uint64_t fallbacks = 0;           // times a strategy fell back to a copying path
  std::uint64_t zc_completions = 0;      // MSG_ZEROCOPY / SEND_ZC notifications reaped
  std::uint64_t zc_copied = 0;           // ... of which the kernel reported it copied after all (loopback always)

  Counters& operator+=(const Counters& o) {
    syscalls += o.syscalls;
    bytes_copied_user += o.bytes_copied_user;
    bytes_zero_copy += o.bytes_zero_copy;
    fallbacks += o.fallbacks;
    zc_completions += o.zc_completions;
    zc_copied += o.zc_copied;
    return *this;
  }
  // What happened between two snapshots of one sender's counters.
  friend Counters operator-(const Counters& a, const Counters& b) {
    return {a.syscalls - b.syscalls,           a.bytes_copied_user - b.bytes_copied_user,
            a.bytes_zero_copy - b.bytes_zero_copy, a.fallbacks - b.fallbacks,
            a.zc_completions - b.zc_completions, a.zc_copied - b.zc_copied};
  }
};

}  // namespace nocopy::io
