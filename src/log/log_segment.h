// One segment of a partition log: `<20-digit base offset>.log` holding
// RecordBatch v2 bytes exactly as they go on the wire, plus its sparse
// OffsetIndex (`.index`) and TimeIndex (`.timeindex`).
//
// Lifetime and sharing: segments are held by shared_ptr. The .log file is a
// shared_ptr<const io::File>, so FileRegions handed to readers keep the
// descriptor (and the unlinked inode) alive after retention deleted the
// segment. The segment's read view (a mapping of the .log) lives as long as
// the LogSegment object; readers that scan headers hold the LogSegment.
//
// Which segments are mapped: in mmap mode the active one (written through
// the mapping); any other one (read-only) on the first lookup that hops over
// its headers, so a segment nobody reads holds no mapping. With
// Options::map_for_reads off, or when mmap fails, lookups pread the headers
// they hop over instead (as Kafka reads its active segment).
//
// Commit protocol: append() writes the bytes (pwrite or memcpy into the
// mapping), updates the indexes, then publishes {next_offset, size} together
// (a seqlock). Readers use committed() and never look past it, so a reader
// never sees a partial batch and never blocks on the writer.
//
// Thread-safety: one writer (append, seal, recover, make_active,
// delete_files) at a time, externally serialized by PartitionLog; readers
// (committed, find, find_by_timestamp, bytes) from any thread concurrently.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/file.h"
#include "log/log_config.h"
#include "log/log_error.h"
#include "log/offset_index.h"
#include "log/record_batch.h"
#include "log/time_index.h"

namespace nocopy::log {

// What append() needs to know of each batch (already validated, offsets
// already assigned).
struct AppendedBatch {
  std::int64_t base_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t max_timestamp = -1;
  std::uint64_t size = 0;
};

// A batch located in a segment's committed bytes.
struct BatchLocation {
  std::uint64_t position = 0;
  std::uint64_t size = 0;
  std::int64_t base_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t max_timestamp = -1;
};

struct Committed {
  std::int64_t next_offset = 0;  // one past the last committed offset
  std::uint64_t size = 0;        // committed bytes of the .log
};

// Outcome of validating a segment's bytes from position 0.
struct ScanOutcome {
  std::uint64_t valid_bytes = 0;
  std::int64_t next_offset = 0;
  std::uint64_t dropped_bytes = 0;   // bytes after valid_bytes (truncated)
  bool zero_tail = false;            // the dropped bytes were all zero (mmap preallocation)
  std::optional<LogError> error;     // why the scan stopped early (nullopt: clean end)
  bool followed_by_valid = false;    // a valid batch follows the invalid one: corruption, not a torn tail
  bool indexes_rebuilt = false;
};

class LogSegment {
 public:
  struct Options {
    WriteMode write_mode = WriteMode::pwrite;
    std::uint64_t segment_bytes = 1ull << 30;
    std::uint32_t index_interval_bytes = 4096;
    std::size_t index_capacity_bytes = 1 << 20;
    // pwrite mode: keep about this many bytes of written zeros ahead of the
    // committed end (0 = off), so that most appends overwrite blocks that
    // are already allocated and sized on disk: their fdatasync then writes
    // the data and flushes the disk cache without a journal commit for a
    // grown file (~35% less per sync on ext4 here). Costs a second page-cache
    // write (and disk write) of the same bytes; meant for sync-every-append
    // logs. The zeros past the committed end are trimmed by seal() and
    // dropped by recovery as preallocation.
    std::uint32_t zero_fill_bytes = 0;
    // pwrite mode: keep about this many bytes allocated past the end of the
    // active segment (0 = off), reserved with fallocate(FALLOC_FL_KEEP_SIZE)
    // one chunk of this size at a time. Appends then write into pages
    // (blocks) that exist: the kernel allocates and charges them in one call
    // per chunk rather than a page at a time inside the appends' pwrites
    // (docs/architecture-log.md, "Preallocation ahead of the writer"). The file's
    // size does not move, so readers and recovery never see the reserved
    // range; seal() frees what was not written (io::File::release_reserved),
    // as does the next seal after a crash left a reservation. A failed
    // reservation (no room) is not an error: the append's pwrite allocates
    // as it would without. Ignored with zero_fill_bytes, whose zeros are
    // allocated already.
    std::uint32_t preallocate_bytes = 0;
    // Lookups hop through a read-only mapping (made on the first one) rather
    // than pread. Off: no segment is mapped for reading (an mmap-mode active
    // segment still is, for writing, and its lookups use that mapping).
    bool map_for_reads = true;
  };

  static std::string file_name(std::int64_t base_offset, const char* suffix);  // 000...123.log

  // A new, empty, active segment (files created, truncated). Throws
  // std::system_error (open, fallocate, mmap) on failure.
  static std::shared_ptr<LogSegment> create(const std::filesystem::path& dir, std::int64_t base_offset,
                                         const Options& opts);

  // Opens an existing segment. With `trust_indexes` the index files are used
  // when they pass sanity checks (else rebuilt); without, every batch is
  // validated, the indexes are rebuilt, and the .log is truncated at the
  // first invalid batch (the outcome says what was dropped and why).
  // Throws std::system_error on setup failures.
  static std::shared_ptr<LogSegment> open(const std::filesystem::path& dir, std::int64_t base_offset,
                                       const Options& opts, bool trust_indexes, ScanOutcome* outcome);

  ~LogSegment();
  LogSegment(const LogSegment&) = delete;
  LogSegment& operator=(const LogSegment&) = delete;

  std::int64_t base_offset() const noexcept { return base_offset_; }
  Committed committed() const noexcept;
  // The same for the writer itself (it is the only one changing them): no
  // seqlock retry loop.
  Committed committed_by_writer() const noexcept {
    return {next_offset_.load(std::memory_order_relaxed), size_.load(std::memory_order_relaxed)};
  }
  std::int64_t max_timestamp() const noexcept { return max_timestamp_.load(std::memory_order_acquire); }
  // Wall-clock ms of the first append since this segment was created/opened (-1: none yet).
  std::int64_t first_append_ms() const noexcept { return first_append_ms_; }
  const std::shared_ptr<const io::File>& file() const noexcept { return file_; }
  bool active() const noexcept { return active_; }
  // True when an index cannot take another entry: roll before appending.
  bool indexes_full() const noexcept { return offset_index_->full(); }
  // Bytes that still fit (mmap mode: the mapping; pwrite: segment_bytes).
  std::uint64_t capacity() const noexcept { return opts_.segment_bytes; }

  // --- writer side ---------------------------------------------------------
  // Appends `bytes` (the batches described by `batches`, in order) at the
  // committed end. On failure nothing is published and the file is cut back
  // to the committed size (best effort). Precondition: active(), and in mmap
  // mode size + bytes.size() <= segment_bytes.
  LogResult<void> append(std::span<const std::byte> bytes, std::span<const AppendedBatch> batches,
                         std::int64_t now_ms);
  // fdatasync of the .log; for a sealed segment also (once) msync of its
  // indexes. Safe to call from the flusher thread concurrently with append().
  LogResult<void> sync();
  // Ends writing: final time-index entry, indexes trimmed (written back by
  // the next sync()), an mmap-mode .log truncated to its real size (its
  // mapping stays valid).
  LogResult<void> seal();
  // Prepares an opened segment for appends (re-grows indexes, maps the .log
  // for writing in mmap mode). Throws std::system_error.
  void make_active();
  // mmap mode: prefaults the next `max_bytes` of the writable mapping that
  // lie beyond the committed end and were not prefaulted yet
  // (MADV_POPULATE_WRITE). Returns true when more remains. One thread at a
  // time (the log's flusher run); harmless if the segment was sealed.
  bool prefault(std::uint64_t max_bytes) noexcept;
  // pwrite mode, a follower's appends (PartitionLog::append_replicated):
  // write-behind and drop-behind in chunks of `chunk` bytes up to the
  // committed end. Each newly completed chunk's writeback is started
  // (sync_file_range WRITE); the chunk before it -- started one chunk ago --
  // is waited for and dropped from the page cache (POSIX_FADV_DONTNEED), so
  // the kernel reuses those pages for the next appends instead of filling
  // fresh ones. More than four chunks behind (appends made as the leader),
  // it starts again two chunks before the end. A no-op in mmap mode and for
  // chunk 0. Advisory: failures are
  // logged at debug level, the log's flush policy still decides durability.
  // Writer side (under the log's append lock).
  void drop_behind(std::uint64_t chunk) noexcept;
  static constexpr const char* kDeletedSuffix = ".deleted";
  // The three files of a segment: <20-digit base offset> + each suffix.
  static constexpr const char* kFileSuffixes[] = {".log", ".index", ".timeindex"};
  // Unlinks a segment's three files (each name + `name_suffix`); a missing
  // file is not an error, others are logged. Open FileRegions keep working.
  static void remove_files(const std::filesystem::path& dir, std::int64_t base_offset,
                           const char* name_suffix = "") noexcept;
  void delete_files() noexcept { remove_files(dir_, base_offset_); }
  // Retention, in two steps (Kafka's ".deleted" files): retire_files()
  // renames the three files to <name>.deleted -- a cheap metadata change, made
  // under the log's append lock, after which no name of a live segment
  // refers to them; delete_retired_files() unlinks them later, outside the
  // lock (freeing a flushed 1 GiB segment's blocks takes a disk filesystem
  // hundreds of ms). Open FileRegions keep working throughout. A crash in
  // between leaves .deleted files, which PartitionLog::open removes.
  void retire_files() noexcept;
  void delete_retired_files() noexcept { remove_files(dir_, base_offset_, kDeletedSuffix); }

  // --- reader side ---------------------------------------------------------
  // The committed batch containing `offset`, or the first one after it; nullopt
  // when `offset` >= committed next offset.
  std::optional<BatchLocation> find(std::int64_t offset) const noexcept;
  // The first committed batch whose maxTimestamp >= ts.
  std::optional<BatchLocation> find_by_timestamp(std::int64_t ts) const noexcept;
  // Committed bytes [position, position+len) (record-level lookups): a view
  // of the mapping when the segment has one, else read into `scratch` (which
  // the result then points into). Empty if the read failed (logged).
  // Precondition: within committed().size.
  std::span<const std::byte> bytes(std::uint64_t position, std::uint64_t len,
                                   std::vector<std::byte>& scratch) const;
  // The batch whose header (kBatchHeaderSize bytes) is at `p`, at `position`.
  static BatchLocation location_from(const std::byte* p, std::uint64_t position) noexcept;

 private:
  LogSegment(const std::filesystem::path& dir, std::int64_t base_offset, const Options& opts);
  void map_view(std::uint64_t len, bool writable);
  void unmap_view() noexcept;  // only while no reader can see the segment (open, make_active, destruction)
  // The mapping to hop through for a lookup within [0, size), mapping the
  // .log first if it is not yet; null: pread instead.
  const std::byte* read_view(std::uint64_t size) const noexcept {
    const std::byte* d = data_.load(std::memory_order_acquire);
    if (d != nullptr && size <= map_len_.load(std::memory_order_relaxed)) [[likely]] return d;
    return map_for_readers(size);
  }
  [[gnu::cold]] const std::byte* map_for_readers(std::uint64_t size) const noexcept;
  // An offset index entry did not point at its batch (the file was damaged
  // after it was checked at open): logs it once, lookups in this segment
  // scan from its start from now on. Returns that start (0).
  [[gnu::cold]] std::uint64_t distrust_index(OffsetPosition entry) const noexcept;
  // The first timestamp lookup checks the whole time index (open checked
  // only its ends); out of order, timestamp lookups in this segment scan
  // from its start and it is logged once.
  [[gnu::cold]] void check_time_index(Committed c) const noexcept;
  static constexpr std::uint8_t kIndexUnchecked = 0, kIndexChecked = 1, kIndexDistrusted = 2;
  void publish(std::int64_t next_offset, std::uint64_t size) noexcept;
  void preallocate(std::uint64_t end) noexcept;  // pwrite mode: reserve a chunk past `end` (Options::preallocate_bytes)
  void zero_fill(std::uint64_t end) noexcept;  // pwrite mode: zeros ahead of `end` (Options::zero_fill_bytes)
  // append()'s failures, out of line (they build messages).
  [[gnu::cold]] LogResult<void> append_beyond_mapping(std::size_t bytes, std::uint64_t pos) const;
  [[gnu::cold]] LogResult<void> append_write_failed(std::size_t bytes, std::uint64_t pos, const io::IoError& e);
  void open_indexes(bool reset, bool grow);
  ScanOutcome recover();  // validates from 0, rebuilds indexes, truncates
  bool load_tail();       // trusted indexes: header scan after the last entry
  void index_batch(const AppendedBatch& b, std::uint64_t position) {
    if (bytes_since_index_entry_ > opts_.index_interval_bytes) [[unlikely]] add_index_entries(b, position);
    bytes_since_index_entry_ += b.size;
    if (b.max_timestamp > max_timestamp_.load(std::memory_order_relaxed)) {
      max_timestamp_.store(b.max_timestamp, std::memory_order_release);
      offset_of_max_timestamp_ = b.base_offset;
    }
  }
  void add_index_entries(const AppendedBatch& b, std::uint64_t position);
  BatchLocation location_at(std::uint64_t position) const noexcept {  // mapped segments only
    return location_from(data_.load(std::memory_order_relaxed) + position, position);
  }

  std::filesystem::path dir_;
  std::int64_t base_offset_;
  Options opts_;
  std::shared_ptr<const io::File> file_;
  std::unique_ptr<OffsetIndex> offset_index_;
  std::unique_ptr<TimeIndex> time_index_;
  // Mapping of the .log (read-only unless mmap mode + active), or null (not
  // looked up yet, empty, map_for_reads off). Set by the writer or the first
  // reader (map_mu_; map_len_ first, then data_ with release); unmapped only
  // while no reader can see the segment.
  mutable std::atomic<std::byte*> data_{nullptr};
  mutable std::atomic<std::size_t> map_len_{0};
  mutable std::mutex map_mu_;
  mutable std::atomic<bool> map_failed_{false};  // mmap for readers failed once: pread from now on
  mutable std::atomic<bool> index_distrusted_{false};  // see distrust_index()
  mutable std::atomic<std::uint8_t> time_index_state_{kIndexUnchecked};  // see check_time_index()
  std::size_t time_entries_at_open_ = 0;  // trusted time index entries found by open() (set before readers)
  bool active_ = false;
  bool indexes_grown_ = false;
  bool index_reserve_warned_ = false;  // the disk-full warning is logged once per segment
  std::atomic<bool> sealed_{false};
  std::atomic<bool> indexes_synced_{false};  // index files at full capacity (entries() then counts only what was appended)

  // Published state (seqlock): readers see next_offset and size together.
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::int64_t> next_offset_{0};
  std::atomic<std::uint64_t> size_{0};
  std::atomic<std::int64_t> max_timestamp_{-1};
  // Writer-only state.
  std::int64_t offset_of_max_timestamp_ = -1;
  std::uint64_t bytes_since_index_entry_ = 0;
  std::int64_t first_append_ms_ = -1;
  std::uint64_t zero_end_ = 0;  // pwrite + zero_fill: file bytes written (data or zeros)
  // pwrite + preallocate_bytes: appends reaching past prealloc_end_ reserve
  // the next chunk first (kNoPrealloc: never); reserved_end_ bounds what
  // seal() punches out.
  static constexpr std::uint64_t kNoPrealloc = ~std::uint64_t{0};
  std::uint64_t prealloc_end_ = kNoPrealloc;
  std::uint64_t reserved_end_ = 0;
  // drop_behind(): where the next chunk starts (every byte before it has had
  // its writeback started); set to the committed size by make_active().
  std::uint64_t behind_next_ = 0;
  // Flusher-only state: how far prefault() got.
  std::uint64_t prefaulted_ = 0;
};

// The append path is inline: after the pwrite the kernel has evicted much of
// the caller's cache and return-stack state, and every extra call level
// returns cold (docs/architecture-log.md, "The append's return path").
inline void LogSegment::publish(std::int64_t next_offset, std::uint64_t size) noexcept {
  // Seqlock write side (single writer): odd while the pair is inconsistent.
  std::uint64_t s = seq_.load(std::memory_order_relaxed);
  seq_.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  next_offset_.store(next_offset, std::memory_order_relaxed);
  size_.store(size, std::memory_order_relaxed);
  seq_.store(s + 2, std::memory_order_release);
}

// Always inlined into PartitionLog::append, its one caller on the hot path.
[[gnu::always_inline]] inline LogResult<void> LogSegment::append(std::span<const std::byte> bytes, std::span<const AppendedBatch> batches,
                                       std::int64_t now_ms) {
  const std::uint64_t pos = size_.load(std::memory_order_relaxed);
  if (opts_.write_mode == WriteMode::mmap) {
    if (pos + bytes.size() > map_len_.load(std::memory_order_relaxed)) [[unlikely]] return append_beyond_mapping(bytes.size(), pos);
    std::memcpy(data_.load(std::memory_order_relaxed) + pos, bytes.data(), bytes.size());
  } else {
    if (opts_.zero_fill_bytes != 0) zero_fill(pos + bytes.size());
    if (pos + bytes.size() > prealloc_end_) [[unlikely]] preallocate(pos + bytes.size());
    if (auto r = file_->pwrite_full(bytes, pos); !r) [[unlikely]] return append_write_failed(bytes.size(), pos, r.error());
    if (opts_.zero_fill_bytes != 0) zero_end_ = std::max(zero_end_, pos + bytes.size());
  }
  std::uint64_t p = pos;
  for (const AppendedBatch& b : batches) {
    index_batch(b, p);
    p += b.size;
  }
  if (first_append_ms_ < 0) [[unlikely]] first_append_ms_ = now_ms;
  publish(batches.back().last_offset + 1, pos + bytes.size());
  return {};
}

}  // namespace nocopy::log
