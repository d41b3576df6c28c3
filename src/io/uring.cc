#include "io/uring.h"

#include <array>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace nocopy::io {

std::unique_ptr<Uring> Uring::create(unsigned entries, std::string* why) {
  std::unique_ptr<Uring> u(new Uring());
  const int rc = io_uring_queue_init(entries, &u->ring_, 0);
  if (rc < 0) {
    if (why) *why = fmt::format("io_uring_queue_init: {}", std::strerror(-rc));
    u->ring_.ring_fd = -1;
    return nullptr;
  }
  return u;
}

Uring::~Uring() {
  if (ring_.ring_fd >= 0) io_uring_queue_exit(&ring_);
}

bool uring_supports(int opcode, std::string* why) {
  static std::once_flag once;
  static std::array<signed char, 256> supported{};  // 1 yes, 0 no
  static std::string setup_error;
  std::call_once(once, [] {
    io_uring_probe* p = io_uring_get_probe();
    if (p == nullptr) {
      setup_error = "io_uring_get_probe failed (io_uring unavailable or disabled)";
      return;
    }
    for (int op = 0; op < 256; ++op) supported[op] = io_uring_opcode_supported(p, op) ? 1 : 0;
    io_uring_free_probe(p);
  });
  if (!setup_error.empty()) {
    if (why) *why = setup_error;
    return false;
  }
  if (opcode < 0 || opcode > 255 || supported[opcode] == 0) {
    if (why) *why = fmt::format("io_uring: opcode {} not supported by this kernel", opcode);
    return false;
  }
  return true;
}

}  // namespace nocopy::io
