// A segment's transaction index, Kafka's `.txnindex`: one fixed-size entry per
// transaction aborted in that segment (the segment holding its ABORT marker),
// in marker order. Entry (34 bytes, big-endian):
//
//   offset  field              size
//        0  version (= 0)      int16
//        2  producerId         int64
//       10  firstOffset        int64   the transaction's first offset in this partition
//       18  lastOffset         int64   the offset of its ABORT marker
//       26  lastStableOffset   int64   the partition's LSO once it was aborted
//
// Files are named like the segment: <20-digit base offset>.txnindex. Appends
// go through the page cache (no sync); recovery rebuilds what a crash lost
// from the markers in the log (TransactionTracker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "log/log_error.h"

namespace nocopy::log {

struct AbortedTxn {
  std::int64_t producer_id = -1;
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t last_stable_offset = 0;
  bool operator==(const AbortedTxn&) const = default;
};

class TxnIndexFile {
 public:
  static constexpr std::size_t kEntrySize = 34;
  static constexpr std::int16_t kVersion = 0;
  static constexpr const char* kSuffix = ".txnindex";

  static std::filesystem::path path_for(const std::filesystem::path& dir, std::int64_t segment_base);
  // The segment base named by a .txnindex file name, or -1.
  static std::int64_t base_of(const std::filesystem::path& file);

  static void encode(const AbortedTxn& t, std::byte* out) noexcept;
  // Appends one entry (creating the file). Errors name the syscall and path.
  static LogResult<void> append(const std::filesystem::path& file, const AbortedTxn& t);
  // Every whole version-0 entry of the file, in order; a torn tail (a crash
  // mid-append) or an entry of another version ends the list. A missing file
  // is an empty list.
  static std::vector<AbortedTxn> read(const std::filesystem::path& file);
};

}  // namespace nocopy::log
