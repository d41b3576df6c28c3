// Small text files that must change atomically (Kafka's checkpoint files):
// the new content goes to `<name>.tmp`, which is fdatasync'd, renamed over
// `<name>`, and the directory is fsync'd. A crash leaves the old or the new
// file (a leftover .tmp is removed by PartitionLog::open).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "log/log_error.h"

namespace nocopy::log {

LogResult<void> write_checkpoint_file(const std::filesystem::path& dir, std::string_view name, std::string_view text);
// The file's content; nullopt when it does not exist or cannot be read.
std::optional<std::string> read_checkpoint_file(const std::filesystem::path& dir, std::string_view name);
// fsync of a directory (its entries become durable); logs failures.
void fsync_directory(const std::filesystem::path& dir);

}  // namespace nocopy::log
