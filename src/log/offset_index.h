// Sparse offset index of one segment (`<base>.index`), Kafka's OffsetIndex.
//
// One 8-byte entry per ~index_interval_bytes of log appended (the entry
// points at the start of the batch appended when the interval was crossed):
//
//   offset  field            size   notes
//   ------  ---------------  -----  ------------------------------------------
//        0  relativeOffset   int32  big-endian; batch baseOffset - segment base
//        4  position         int32  big-endian; byte position in the .log file
//
// Entries are strictly increasing in both fields. The file is not
// checksummed: it is rebuilt from the .log whenever it does not pass
// sane_ends() at open or its segment is recovered after an unclean shutdown.
//
// Thread-safety: as IndexFile (one writer, concurrent readers).
#pragma once

#include <cstdint>
#include <filesystem>

#include "log/index_file.h"

namespace nocopy::log {

struct OffsetPosition {
  std::int64_t offset = 0;     // absolute offset of a batch's base
  std::uint64_t position = 0;  // its byte position in the segment's .log
};

// Where the batch containing an offset starts: at or after from.position and
// before next_position (the position of the next entry's batch, whose base
// offset, next_offset, is greater; UINT64_MAX / INT64_MAX when `from` is the
// last entry).
struct IndexWindow {
  OffsetPosition from;
  std::uint64_t next_position = UINT64_MAX;
  std::int64_t next_offset = INT64_MAX;
};

class OffsetIndex {
 public:
  static constexpr std::size_t kEntrySize = 8;

  OffsetIndex(const std::filesystem::path& path, std::int64_t base_offset, std::size_t capacity_bytes,
              bool reset)
      : file_(path, kEntrySize, capacity_bytes, reset), base_offset_(base_offset) {}

  // The last entry whose offset <= target, or {base_offset, 0} when none.
  OffsetPosition lookup(std::int64_t target) const noexcept { return lookup_window(target).from; }
  // The same entry and where the following one points (bounds a header scan).
  IndexWindow lookup_window(std::int64_t target) const noexcept;
  // Precondition: !full(), offset/position greater than the last entry's.
  // False (no entry) when its disk blocks could not be reserved (IndexFile).
  [[nodiscard]] bool append(std::int64_t offset, std::uint64_t position) noexcept;
  // Keeps only entries with offset < `offset`.
  void truncate_to(std::int64_t offset) noexcept;
  // The first and the last entry in order and inside the .log: O(1), what
  // opening a cleanly closed segment checks (as Kafka does). Lookups check
  // each entry they use against the batch it names (LogSegment::find), so a
  // damaged entry between them cannot misdirect a read.
  bool sane_ends(std::uint64_t log_size) const noexcept;

  std::size_t entries() const noexcept { return file_.entries(); }
  bool full() const noexcept { return file_.full(); }
  OffsetPosition entry(std::size_t i) const noexcept;
  IndexFile& file() noexcept { return file_; }

 private:
  IndexFile file_;
  std::int64_t base_offset_;
};

}  // namespace nocopy::log
