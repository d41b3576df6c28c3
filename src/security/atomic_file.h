// write_file_atomically(): replaces a file so that a crash leaves either the
// old or the new content, never a mix: the content goes to `<path>.tmp`
// (mode `mode`), which is fsync'd, renamed over `path`, and the directory
// fsync'd. Throws std::system_error naming the syscall and path.
//
// Thread-safety: callers serialize writes of one path.
#pragma once

#include <filesystem>
#include <string_view>
#include <sys/types.h>

namespace nocopy::security {

void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode);

}  // namespace nocopy::security
