// Configuration of one PartitionLog. Names follow Kafka's topic configs
// (segment.bytes, segment.ms, retention.bytes, retention.ms,
// index.interval.bytes, segment.index.bytes, max.message.bytes,
// flush.messages, flush.ms, message.timestamp.type).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace nocopy::log {

class FlushScheduler;

// How a segment's .log file is written. Both produce identical files and
// both are read the same way (FileRegions for sendfile, a read-only view
// for header scans).
enum class WriteMode : std::uint8_t {
  pwrite,  // Kafka: pwrite(2) at the segment's end
  mmap,    // RocketMQ: the segment is preallocated to segment_bytes, mapped,
           // and written with memcpy; trimmed to its real size on roll/close
};

// message.timestamp.type: whose clock the batch timestamps are.
enum class TimestampType : std::uint8_t {
  create_time,      // the producer's (Kafka's default): batches are stored as sent
  log_append_time,  // the log's: append() sets each batch's maxTimestamp to the
                    // append time and attribute bit 3, and recomputes its CRC
};

struct FlushPolicy {
  // When the log syncs (fdatasync) what it appended.
  enum class Mode : std::uint8_t {
    never,         // Kafka's default: the page cache and replication (here: only
                   // explicit flush()/wait_flushed()/close() sync)
    interval,      // every `messages` records or every `ms` milliseconds
    every_append,  // each append is followed by a sync before it is
                   // acknowledged (wait_flushed / request_flush_notification)
  };
  Mode mode = Mode::never;
  std::int64_t messages = 0;  // interval: records between syncs (0 = unused)
  std::int64_t ms = 0;        // interval: milliseconds between syncs (0 = unused)
  // every_append: true = the flusher (a FlushScheduler pool thread)
  // group-commits (one fdatasync for everything appended meanwhile); false =
  // append() itself calls fdatasync while holding the append lock (the
  // baseline the benchmark compares).
  bool group_commit = true;
  // every_append + group_commit: the commit delay. When the last sync covered
  // K >= 2 waiters, the next one first waits -- up to this many microseconds
  // and never longer than four times the last sync took -- until K waiters
  // are pending again, so the appenders that sync released join the next one
  // instead of leaving it to a sync of their own. (PostgreSQL's commit_delay with
  // commit_siblings, made adaptive: K follows what the last sync gathered.)
  // A lone waiter (K < 2) never waits. 0 = sync at once.
  std::int64_t group_commit_delay_us = 500;
};

struct LogConfig {
  WriteMode write_mode = WriteMode::pwrite;
  std::uint64_t segment_bytes = 1ull << 30;               // <= 2 GiB - 1 (int32 positions)
  std::int64_t segment_ms = 7ll * 24 * 3600 * 1000;       // roll by age (of the segment's first append)
  std::int64_t retention_bytes = -1;                      // -1 = unlimited
  std::int64_t retention_ms = 7ll * 24 * 3600 * 1000;     // -1 = unlimited
  // Kafka also applies retention_ms to the active segment: when its newest
  // batch is older, it is rolled and deleted (the log becomes empty, start ==
  // end). Off by default here: producers that send old timestamps (the e2e
  // tests use 2020) would see their data vanish at the next retention pass.
  bool retention_rolls_expired_active = false;
  std::uint32_t index_interval_bytes = 4096;
  std::uint32_t max_index_bytes = 10 * 1024 * 1024;
  std::uint32_t max_message_bytes = 1048588;              // one batch, as Kafka
  bool require_zero_base_offset = true;                   // producers send baseOffset 0
  bool allow_control_batches = false;                     // control batches only from a coordinator
  FlushPolicy flush;
  TimestampType timestamp_type = TimestampType::create_time;
  // Where the log's background work (syncs, interval flushes, prefault)
  // runs: a pool shared by many logs. nullptr = FlushScheduler::shared(),
  // the process-wide pool of min(4, hardware threads) threads.
  std::shared_ptr<FlushScheduler> flush_scheduler;
  // mmap mode: the flusher prefaults a new segment's mapping
  // (MADV_POPULATE_WRITE), as RocketMQ warms its mapped files, so appends
  // memcpy without page faults. On a disk filesystem this dirties (and later
  // writes) the preallocated zeros once.
  bool mmap_prefault = true;
  // pwrite mode with FlushPolicy::Mode::every_append: keep this many bytes of
  // written zeros ahead of the end of the active segment (0 = off), so that
  // appends overwrite blocks already allocated on disk and their fdatasync
  // needs no journal commit for a grown file (LogSegment::Options). Every
  // appended byte is then written twice (zeros, then data). Larger fills
  // (fewer journal commits) made no difference beyond this disk's noise
  // (benchmarks/bare/sync_probe.c; docs/architecture-log.md, "Group
  // commit").
  std::uint32_t sync_zero_fill_bytes = 64 * 1024;
  // pwrite mode (not with sync_zero_fill_bytes at work): keep this many bytes
  // allocated past the end of the active segment (0 = off), reserved with
  // fallocate(FALLOC_FL_KEEP_SIZE) a chunk at a time, so appends write into
  // pages and blocks that exist instead of allocating one page at a time
  // inside each pwrite. The file's size does not move (readers and recovery
  // never see the range); a roll or close frees what was not written. Costs
  // up to this much page cache (on tmpfs) or disk per active segment.
  // 1 MiB against 0, append/raw-pwrite medians: tmpfs 1 KiB 0.903 -> 0.935,
  // 16 KiB 0.906 -> 0.920; ext4 1 KiB 0.909 -> 0.951, 16 KiB 0.851 -> 0.961.
  // 64 KiB chunks lost on ext4 (docs/architecture-log.md, "Preallocation
  // ahead of the writer").
  std::uint32_t preallocate_bytes = 1 << 20;
  // pwrite mode, a follower's appends (append_replicated): write-behind and
  // drop-behind in chunks of this many bytes (0 = off;
  // LogSegment::drop_behind). Nothing reads a follower's log while it
  // follows, and on a VM filling fresh page-cache pages dominates the cost
  // of an append: writing 2 GiB in 1 MiB pwrites took 2.6 s of system time,
  // 0.7 s with 8 MiB write/drop-behind (docs/architecture-replication.md,
  // "Follower page cache"). After a leadership change its readers read
  // the dropped part from disk.
  std::uint32_t replica_drop_behind_bytes = 8 << 20;
  // Lookups (the batch holding an offset or a timestamp) hop over batch
  // headers through a read-only mapping of the segment, made on its first
  // lookup (a segment nobody reads is never mapped). false: they pread the
  // headers instead, as Kafka reads its active segment -- no mappings of
  // .log files at all (vm.max_map_count with very many partitions), at
  // ~1.4 us more per random lookup (bench_log's BM_ReadRandomPread; docs/benchmarks.md).
  bool map_for_reads = true;
  // Wall clock in ms since the epoch (roll by age, retention by age). Tests
  // inject their own.
  std::function<std::int64_t()> clock;
};

}  // namespace nocopy::log
