// Log compaction (Kafka's cleanup.policy=compact) of one PartitionLog.
//
// clean() works on the cleanable segments: the sealed ones (the active
// segment is never cleaned) up to the first that has a record newer than
// min_compaction_lag_ms or an offset at or after upper_offset (the first
// unstable offset: an ongoing transaction is never cleaned). As Kafka's
// cleaner:
//   1. the offset map (OffsetMap: key -> last offset) is built from the
//      dirty section only -- the records at or after first_dirty_offset (the
//      broker's cleaner checkpoint) -- batch by batch until the next batch's
//      keys might not fit in offset_map_bytes; the map's end (CleanStats::
//      cleaned_end) is then that batch's base offset, else the end of the
//      cleanable segments. The next clean continues from there.
//   2. every segment below that end, clean or dirty, is filtered against
//      the map (cleaner_filter.h: a record survives unless a later record of
//      its key is in the map or it is a tombstone older than
//      delete_retention_ms; records at or after the end are untouched; the
//      last batch of each idempotent producer (producerId >= 0) stays, if
//      need be as an empty batch, so the producer's sequence state outlives
//      the cleaning; rewritten batches keep their lastOffsetDelta;
//      compressed batches are decompressed, filtered like the others and
//      re-compressed with their codec; the records of aborted transactions
//      (`aborted`, the .txnindex entries) are removed and never enter the
//      map; a transaction marker goes once no record of its transaction is
//      left and it is older than delete_retention_ms, unless it is its
//      producer's last batch).
//   3. a segment that keeps everything it holds is not rewritten (an
//      already cleaned segment whose keys no dirty record superseded stays
//      as it is); consecutive segments that changed are rewritten together
//      while their output fits in max_group_bytes and segment.bytes, into
//      one segment that keeps the group's first base offset.
// The segments' contents are read through read-only mappings (io::Mapping)
// of their committed bytes, under an io::MappingReadGuard: the log never
// truncates a sealed segment while it is open, but if something else does,
// the reads past the new end see zeros instead of raising SIGBUS and the
// clean fails with storage_error naming the segment (groups already swapped
// stay). Bytes read that way are counted in mapped_bytes_read(), next to
// what the zero-copy senders serve.
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
#include <optional>
#include <vector>

#include "log/log_error.h"
#include "log/partition_log.h"
#include "log/txn_index.h"

namespace nocopy::log {

struct CleanerConfig {
  std::int64_t delete_retention_ms = 24ll * 3600 * 1000;  // delete.retention.ms
  std::int64_t min_compaction_lag_ms = 0;                 // min.compaction.lag.ms
  // The first offset not yet cleaned (the cleaner checkpoint; 0: the whole
  // log is dirty). The offset map is built from here on.
  std::int64_t first_dirty_offset = 0;
  // The offset map's capacity (log.cleaner.dedupe.buffer.size / threads),
  // accounted as OffsetMap does.
  std::uint64_t offset_map_bytes = 128ull << 20;
  // The first unstable offset (the log's LSO): segments holding offsets at
  // or after it are not cleaned.
  std::int64_t upper_offset = std::numeric_limits<std::int64_t>::max();
  // The log's aborted transactions (TransactionTracker::aborted).
  std::vector<AbortedTxn> aborted;
  // Output bytes per cleaned segment (a group); at most the log's segment.bytes.
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
  std::uint64_t batches_kept_whole = 0;  // markers kept, or batches past the map's end
  std::uint64_t empty_batches_kept = 0;  // producers' last batches with no record left
  std::uint64_t batches_recompressed = 0;  // compressed batches that lost records
  std::uint64_t aborted_records_dropped = 0;  // records of aborted transactions removed
  std::uint64_t markers_dropped = 0;          // transaction markers removed
  std::size_t segments_unchanged = 0;    // filtered below the end, nothing to drop: left as they were
  std::size_t keys = 0;                  // distinct keys in the map
  bool map_full = false;                 // the map stopped before the cleanable segments' end
  // One past the last offset the offset map covers: every record below it
  // is clean (the next clean's first_dirty_offset); -1 when nothing was
  // dirty.
  std::int64_t cleaned_end = -1;
};

class LogCleaner {
 public:
  // Cleans `log` once (see above). An error leaves the log as it was, or
  // with some groups cleaned (each group is swapped atomically).
  static LogResult<CleanStats> clean(PartitionLog& log, const CleanerConfig& config);

  // The timestamp of a segment's first batch (its maxTimestamp under
  // LogAppendTime, else its baseTimestamp), read with pread (Kafka's
  // max.compaction.lag.ms measures a dirty segment's age from it); nullopt
  // when the segment is empty or its first header unreadable.
  static std::optional<std::int64_t> first_timestamp(const LogSegment& seg);

  // Content bytes read through mappings by every clean() of this process.
  static std::uint64_t mapped_bytes_read() noexcept { return mapped_bytes_read_.load(std::memory_order_relaxed); }

 private:
  static inline std::atomic<std::uint64_t> mapped_bytes_read_{0};
  friend class CleanerRun;
};

}  // namespace nocopy::log
