#include "io/kept_position.h"

#include <sys/stat.h>

namespace nocopy::io::detail {

bool KeptPosition::remember(int fd, off_t at, Counters& counters) {
  struct stat st{};
  ++counters.syscalls;
  if (::fstat(fd, &st) != 0) {
    fd_ = -1;
    return false;
  }
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = at;
  return true;
}

bool KeptPosition::continued_by(int fd, off_t offset, Counters& counters) const {
  if (fd != fd_ || offset != offset_) return false;
  struct stat st{};
  ++counters.syscalls;
  if (::fstat(fd, &st) != 0) return false;
  return st.st_dev == dev_ && st.st_ino == ino_;
}

}  // namespace nocopy::io::detail
