#include "io/mapping.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace nocopy::io {

Result<std::shared_ptr<const Mapping>> Mapping::map(int fd, off_t offset, std::size_t len) {
  static const long page = ::sysconf(_SC_PAGESIZE);
  if (len == 0) return fail(EINVAL, "mmap", "empty window");
  const off_t start = offset - offset % page;
  const std::size_t lead = static_cast<std::size_t>(offset - start);
  const std::size_t map_len = lead + len;
  void* p = ::mmap(nullptr, map_len, PROT_READ, MAP_SHARED, fd, start);
  if (p == MAP_FAILED) return fail(errno, "mmap", fmt::format("fd {} offset {} len {}", fd, offset, len));
  return std::shared_ptr<const Mapping>(new Mapping(static_cast<std::byte*>(p), map_len, lead, offset, len));
}

Mapping::~Mapping() { ::munmap(base_, map_len_); }

}  // namespace nocopy::io
