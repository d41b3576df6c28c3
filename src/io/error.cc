#include "io/error.h"

#include <cstring>

#include <fmt/format.h>

namespace nocopy::io {

std::string IoError::message() const {
  const char* name = ::strerrorname_np(err);
  const char* desc = ::strerrordesc_np(err);
  std::string out = fmt::format("{}: {} ({})", (syscall && *syscall) ? syscall : "io",
                                desc ? desc : "Unknown error", name ? name : std::to_string(err));
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

}  // namespace nocopy::io
