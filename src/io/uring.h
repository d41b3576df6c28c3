// RAII io_uring instance (liburing) and opcode probing.
//
// Thread-safety: a Uring is used by one thread at a time.
#pragma once

#include <liburing.h>

#include <memory>
#include <string>

namespace nocopy::io {

class Uring {
 public:
  // nullptr (and *why set) when io_uring cannot be set up here (ENOSYS,
  // EPERM from kernel.io_uring_disabled, seccomp, ENOMEM for locked memory).
  static std::unique_ptr<Uring> create(unsigned entries, std::string* why);
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  io_uring* get() noexcept { return &ring_; }

 private:
  Uring() = default;
  io_uring ring_{};
};

// Whether the running kernel's io_uring supports `opcode` (io_uring_get_probe;
// the result is computed once per process and opcode). `why` is set when not.
bool uring_supports(int opcode, std::string* why);

}  // namespace nocopy::io
