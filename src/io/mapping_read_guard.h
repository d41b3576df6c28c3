// MappingReadGuard: lets user code read the bytes of a Mapping even if the
// file is truncated under it meanwhile.
//
// A user-space read of a mapped page that lies past the end of its file
// (another process truncated it) raises SIGBUS, which kills the process by
// default. While a guard lives, a SIGBUS on its thread whose address lies in
// the guarded mapping is caught: the faulting page is replaced by a
// read-only page of zeros (mmap MAP_FIXED|MAP_ANONYMOUS over it, from the
// handler), faulted() becomes true, and the read resumes -- it sees zeros.
// The caller checks faulted() after each unit of work and discards what it
// read since the guard began (it may be zeros instead of the file's bytes).
// A SIGBUS anywhere else goes to the handler installed before (or the
// default action: the process dies, as without a guard).
//
// The handler is installed once per process, at the first guard. One guard
// per thread at a time (a second one on the same thread throws
// std::logic_error). The mapping must outlive the guard; unmapping it
// (Mapping's destructor) also removes the zero pages.
// Thread-safety: guards on different threads are independent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "io/mapping.h"

namespace nocopy::io {

class MappingReadGuard {
 public:
  explicit MappingReadGuard(const Mapping& m);
  ~MappingReadGuard();
  MappingReadGuard(const MappingReadGuard&) = delete;
  MappingReadGuard& operator=(const MappingReadGuard&) = delete;

  // True once a read under this guard hit a page past the file's end.
  bool faulted() const noexcept;
  // How many SIGBUS faults guards of this process have absorbed.
  static std::uint64_t faults_absorbed() noexcept;
};

}  // namespace nocopy::io
