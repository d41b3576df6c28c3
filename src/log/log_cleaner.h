// Log compaction (Kafka's cleanup.policy=compact) of one PartitionLog.
//
// clean() takes the log's sealed segments (the active segment is never
// cleaned) up to the first one that has a record newer than
// min_compaction_lag_ms, builds the key -> last offset map over them
// (OffsetMap), and rewrites them in groups of at most max_group_bytes (and
// segment.bytes) of input, each group into one segment that keeps the group's first base
// offset. A record survives when:
//   * its key's last offset in the map is its own offset (or it has no key);
//   * a tombstone (null value) also only while its timestamp is within
//     delete_retention_ms of now;
//   * any record of the last batch of each idempotent producer (producerId
//     >= 0) survives, as in Kafka, so the producer's sequence state outlives
//     the cleaning;
//   * compressed and control batches are kept whole (their records are not
//     decompressed; their keys do not enter the map).
// Retained records are re-batched in Kafka's format: each batch keeps its
// baseOffset, lastOffsetDelta becomes its last retained record's, its
// records are copied byte for byte (offsets and timestamps unchanged),
// recordsCount and maxTimestamp are recomputed, and the CRC-32C. A batch
// with nothing retained is dropped (gaps in offsets are legal in Kafka).
//
// The segments' contents are read through read-only mappings (io::Mapping)
// of their committed bytes. A sealed segment is never truncated while its
// log is open (only recovery at open truncates), so no mapped page lies past
// the end of its file. Bytes read that way are counted in
// mapped_bytes_read(), next to what the zero-copy senders serve.
//
// Each group is written as <base>.log.cleaned, synced, then swapped in by
// PartitionLog::swap_cleaned (cleaner_swap.h: the steps and their crash
// recovery). The new segment's indexes are built when it is opened.
//
// Thread-safety: clean() may run on any thread concurrently with appends and
// reads of the log; one clean() per log at a time (the caller's job).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>

#include "log/log_error.h"
#include "log/partition_log.h"

namespace nocopy::log {

struct CleanerConfig {
  std::int64_t delete_retention_ms = 24ll * 3600 * 1000;  // delete.retention.ms
  std::int64_t min_compaction_lag_ms = 0;                 // min.compaction.lag.ms
  // Input bytes per cleaned segment; at most the log's segment.bytes.
  std::uint64_t max_group_bytes = 1ull << 30;
  // log.cleaner.io.max.bytes.per.second: content reads are paced to this
  // rate (<= 0: unlimited).
  double io_max_bytes_per_second = 0;
  // Wall clock in ms (tombstone and lag ages); default: the system clock.
  std::function<std::int64_t()> clock;
  // Fault injection (tests): called after each step, see cleaner_swap.h;
  // the cleaner itself reports "cleaned_written".
  PartitionLog::SwapHook hook;
  // Polled between batches: true abandons the clean (groups already swapped
  // stay; the group in progress is dropped) with LogErrc::closed.
  std::function<bool()> cancelled;
};

struct CleanStats {
  std::size_t segments_cleaned = 0;  // input segments replaced
  std::size_t segments_written = 0;  // cleaned segments swapped in
  std::uint64_t bytes_read = 0;      // content bytes read through mappings
  std::uint64_t bytes_written = 0;
  std::uint64_t records_read = 0;
  std::uint64_t records_kept = 0;
  std::uint64_t tombstones_dropped = 0;
  std::uint64_t batches_kept_whole = 0;  // compressed, control, or a producer's last
  std::size_t keys = 0;                  // distinct keys in the map
  // One past the last offset of the cleaned section: the base offset of the
  // first segment left dirty (the active one, or the first one
  // min_compaction_lag_ms kept out); -1 when nothing was cleaned.
  std::int64_t cleaned_end = -1;
};

class LogCleaner {
 public:
  // Cleans `log` once (see above). An error leaves the log as it was, or
  // with some groups cleaned (each group is swapped atomically).
  static LogResult<CleanStats> clean(PartitionLog& log, const CleanerConfig& config);

  // Content bytes read through mappings by every clean() of this process.
  static std::uint64_t mapped_bytes_read() noexcept { return mapped_bytes_read_.load(std::memory_order_relaxed); }

 private:
  static inline std::atomic<std::uint64_t> mapped_bytes_read_{0};
  friend class CleanerRun;
};

}  // namespace nocopy::log
