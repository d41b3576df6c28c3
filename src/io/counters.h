// Per-call accounting shared by every transfer strategy.
//
// Thread-safety: a Counters value is plain data owned by one sender; aggregate
// across threads by adding snapshots.
#pragma once

#include <cstdint>

namespace nocopy::io {

struct Counters {
  std::uint64_t syscalls = 0;            // every syscall the strategy made (incl. EAGAIN ones)
  std::uint64_t bytes_copied_user = 0;   // bytes the CPU copied through user space (read()+write(), memcpy)
  std::uint64_t bytes_zero_copy = 0;     // bytes moved without a user-space copy
  std::uint64_t fallbacks = 0;           // times a strategy fell back to a copying path
  std::uint64_t zc_completions = 0;      // MSG_ZEROCOPY / SEND_ZC notifications reaped
  std::uint64_t zc_copied = 0;           // ... of which the kernel reported as copied

  Counters& operator+=(const Counters& o) {
    syscalls += o.syscalls;
    bytes_copied_user += o.bytes_copied_user;
    bytes_zero_copy += o.bytes_zero_copy;
    fallbacks += o.fallbacks;
    zc_completions += o.zc_completions;
    zc_copied += o.zc_copied;
    return *this;
  }
};

}  // namespace nocopy::io
