// A range of a file that can be sent without copying it into user space.
//
// Ownership: `file` keeps the descriptor open for as long as any region
// refers to it -- a log segment deleted by retention stays readable through
// regions that are still being sent (unlink does not free an open inode).
#pragma once

#include <cstdint>
#include <memory>

#include "io/file.h"

namespace nocopy::buf {

struct FileRegion {
  std::shared_ptr<const io::File> file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

}  // namespace nocopy::buf
