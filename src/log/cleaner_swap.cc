#include "log/cleaner_swap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "io/file.h"
#include "log/log_segment.h"

namespace nocopy::log::cleaner_swap {

namespace fs = std::filesystem;

namespace {

// "<20 digits><suffix>" -> the base offset.
std::optional<std::int64_t> base_of(const std::string& name, std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 20, v);
  if (ec != std::errc{} || p != name.data() + 20) return std::nullopt;
  return v;
}

}  // namespace

fs::path cleaned_log(const fs::path& dir, std::int64_t base) {
  return dir / (LogSegment::file_name(base, ".log") + kCleanedSuffix);
}
fs::path cleaned_end(const fs::path& dir, std::int64_t base) {
  return dir / (LogSegment::file_name(base, ".swapend") + kCleanedSuffix);
}
fs::path swap_log(const fs::path& dir, std::int64_t base) {
  return dir / (LogSegment::file_name(base, ".log") + kSwapSuffix);
}
fs::path swap_end(const fs::path& dir, std::int64_t base) {
  return dir / (LogSegment::file_name(base, ".swapend") + kSwapSuffix);
}

void sync_dir(const fs::path& dir) {
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), fmt::format("open {}", dir.string()));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) {
    throw std::system_error(err, std::generic_category(), fmt::format("fsync {}", dir.string()));
  }
}

void write_cleaned_end(const fs::path& dir, std::int64_t base, std::int64_t end) {
  const fs::path p = cleaned_end(dir, base);
  io::File f = io::File::open(p, io::File::Mode::truncate_rw);
  const std::string text = fmt::format("{}\n", end);
  if (auto r = f.pwrite_full(std::as_bytes(std::span(text.data(), text.size())), 0); !r) {
    throw std::system_error(r.error().err, std::generic_category(), fmt::format("write {}", p.string()));
  }
  if (auto r = f.fdatasync(); !r) {
    throw std::system_error(r.error().err, std::generic_category(), fmt::format("fdatasync {}", p.string()));
  }
}

std::optional<std::int64_t> read_end(const fs::path& path) {
  std::ifstream in(path);
  std::int64_t v = -1;
  if (!(in >> v) || v < 0) return std::nullopt;
  return v;
}

void remove_cleaned(const fs::path& dir) {
  std::vector<fs::path> doomed;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().ends_with(kCleanedSuffix)) doomed.push_back(e.path());
  }
  for (const auto& p : doomed) fs::remove(p);
}

std::vector<std::string> finish_swaps(const fs::path& dir) {
  std::vector<std::string> notes;
  std::vector<std::int64_t> swaps;
  std::vector<std::int64_t> segment_bases;
  std::vector<fs::path> cleaned;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(kCleanedSuffix)) {
      cleaned.push_back(e.path());
    } else if (auto b = base_of(name, std::string(".log") + kSwapSuffix)) {
      swaps.push_back(*b);
    } else if (auto s = base_of(name, ".log")) {
      segment_bases.push_back(*s);
    }
  }
  for (const auto& p : cleaned) {
    notes.push_back(fmt::format("removed {} (a clean that never committed; the old segments stay)",
                                p.filename().string()));
    fs::remove(p);
  }
  bool changed = !cleaned.empty();
  for (std::int64_t base : swaps) {
    // Step 2 renames the end marker before the .log: a .log.swap always has it.
    auto end = read_end(swap_end(dir, base));
    if (!end) {
      throw std::system_error(EINVAL, std::generic_category(),
                              fmt::format("{}: {} is missing or unreadable; cannot tell which segments it replaces",
                                          swap_log(dir, base).string(), swap_end(dir, base).filename().string()));
    }
    for (std::int64_t b : segment_bases) {
      if (b >= base && b < *end) LogSegment::remove_files(dir, b);
    }
    LogSegment::remove_files(dir, base);  // the index files of a retired <base> segment, if any were left
    fs::rename(swap_log(dir, base), dir / LogSegment::file_name(base, ".log"));
    fs::remove(swap_end(dir, base));
    notes.push_back(fmt::format("completed the swap of the cleaned segment {} for the segments in [{}, {})", base,
                                base, *end));
    changed = true;
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (base_of(name, std::string(".swapend") + kSwapSuffix)) {
      fs::remove(e.path());
      changed = true;
    }
  }
  if (changed) sync_dir(dir);
  return notes;
}

}  // namespace nocopy::log::cleaner_swap
