// The files through which a compacted segment replaces the sealed segments
// it was cleaned from (Kafka's ".cleaned" / ".swap" protocol), and the
// recovery that completes or rolls back a swap a crash interrupted.
//
// One swap replaces the segments whose base offsets lie in [base, end) by
// one segment with base offset `base`:
//   1. the cleaner writes <base>.log.cleaned and <base>.swapend.cleaned
//      (the decimal `end`), both synced;
//   2. PartitionLog::swap_cleaned renames <base>.swapend.cleaned to .swapend.swap,
//      then <base>.log.cleaned to <base>.log.swap and syncs the directory:
//      the rename of the .log is the commit point;
//   3. renames the old segments' files to .deleted;
//   4. renames <base>.log.swap to <base>.log (its indexes are rebuilt when it
//      is opened) and removes <base>.swapend.swap.
// Recovery (finish_swaps, run before a log directory is opened): every
// *.cleaned file is removed (the swap never committed: the old segments
// stay); every <base>.log.swap removes the segment files whose base lies in
// [base, end) and becomes <base>.log (the swap is completed); a .swapend.swap
// left without its .log.swap is removed. Either way the log holds the old or
// the new segments of a swap, never some of each.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nocopy::log::cleaner_swap {

inline constexpr const char* kCleanedSuffix = ".cleaned";
inline constexpr const char* kSwapSuffix = ".swap";

std::filesystem::path cleaned_log(const std::filesystem::path& dir, std::int64_t base);   // <base>.log.cleaned
std::filesystem::path cleaned_end(const std::filesystem::path& dir, std::int64_t base);   // <base>.swapend.cleaned
std::filesystem::path swap_log(const std::filesystem::path& dir, std::int64_t base);      // <base>.log.swap
std::filesystem::path swap_end(const std::filesystem::path& dir, std::int64_t base);      // <base>.swapend.swap

// Writes and syncs <base>.swapend.cleaned holding `end`. Throws std::system_error.
void write_cleaned_end(const std::filesystem::path& dir, std::int64_t base, std::int64_t end);
// The `end` a .swapend file holds; nullopt when missing or unreadable.
std::optional<std::int64_t> read_end(const std::filesystem::path& path);

// Removes every *.cleaned file of `dir`.
void remove_cleaned(const std::filesystem::path& dir);

// Completes the swaps a crash left committed and rolls back the others (see
// above). Returns one line per action, for the log's recovery report.
// Throws std::system_error on filesystem failures.
std::vector<std::string> finish_swaps(const std::filesystem::path& dir);

// fsync of a directory (its renames durable). Throws std::system_error.
void sync_dir(const std::filesystem::path& dir);

}  // namespace nocopy::log::cleaner_swap
