// Sparse time index of one segment (`<base>.timeindex`), Kafka's TimeIndex.
//
// One 12-byte entry whenever the segment's max timestamp grew and an offset
// index entry is written (and once more when the segment is rolled):
//
//   offset  field            size   notes
//   ------  ---------------  -----  ------------------------------------------
//        0  timestamp        int64  big-endian; max timestamp of the segment
//                                   up to and including the batch below
//        8  relativeOffset   int32  big-endian; that batch's base - segment base
//
// Timestamps and offsets are strictly increasing. Not checksummed: rebuilt
// from the .log like the offset index.
//
// Thread-safety: as IndexFile (one writer, concurrent readers).
#pragma once

#include <cstdint>
#include <filesystem>

#include "log/index_file.h"

namespace nocopy::log {

struct TimestampOffset {
  std::int64_t timestamp = -1;
  std::int64_t offset = 0;
};

class TimeIndex {
 public:
  static constexpr std::size_t kEntrySize = 12;

  TimeIndex(const std::filesystem::path& path, std::int64_t base_offset, std::size_t capacity_bytes,
            bool reset)
      : file_(path, kEntrySize, capacity_bytes, reset), base_offset_(base_offset) {}

  // The last entry whose timestamp < ts, or {-1, base_offset} when none:
  // every batch up to that entry's offset has max timestamp < ts.
  TimestampOffset lookup_before(std::int64_t ts) const noexcept;
  // Appends when timestamp and offset exceed the last entry's and there is room.
  // False only when an entry was due but its disk blocks could not be
  // reserved (IndexFile): the entry is skipped.
  bool maybe_append(std::int64_t timestamp, std::int64_t offset) noexcept;
  void truncate_to(std::int64_t offset) noexcept;
  // The first `first_n` entries in order and below next_offset: O(entries)
  // (LogSegment runs it once, on the segment's first timestamp lookup).
  bool sane(std::int64_t next_offset, std::size_t first_n = SIZE_MAX) const noexcept;
  // The same for the first and the last entry only: O(1), at open.
  bool sane_ends(std::int64_t next_offset) const noexcept;
  std::size_t entries() const noexcept { return file_.entries(); }
  TimestampOffset entry(std::size_t i) const noexcept;
  IndexFile& file() noexcept { return file_; }

 private:
  IndexFile file_;
  std::int64_t base_offset_;
};

}  // namespace nocopy::log
