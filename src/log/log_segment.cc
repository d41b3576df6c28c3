#include "log/log_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nocopy::log {

namespace {
[[noreturn]] void throw_io(const io::IoError& e) {
  throw std::system_error(e.err, std::system_category(), e.message());
}

constexpr std::size_t kZeroChunk = 64 * 1024;
// Reservations and the zero fill go by pages (a filesystem block is no larger).
constexpr std::uint64_t kPage = 4096;
const std::byte kZeros[kZeroChunk] = {};
}  // namespace

std::string LogSegment::file_name(std::int64_t base_offset, const char* suffix) {
  return fmt::format("{:020d}{}", base_offset, suffix);
}

LogSegment::LogSegment(const std::filesystem::path& dir, std::int64_t base_offset, const Options& opts)
    : dir_(dir), base_offset_(base_offset), opts_(opts) {
  next_offset_.store(base_offset, std::memory_order_relaxed);
}

LogSegment::~LogSegment() { unmap_view(); }

std::shared_ptr<LogSegment> LogSegment::create(const std::filesystem::path& dir, std::int64_t base_offset,
                                         const Options& opts) {
  std::shared_ptr<LogSegment> s(new LogSegment(dir, base_offset, opts));
  s->file_ = std::make_shared<const io::File>(
      io::File::open(dir / file_name(base_offset, ".log"), io::File::Mode::truncate_rw));
  s->open_indexes(/*reset=*/true, /*grow=*/true);
  s->time_index_state_.store(kIndexChecked, std::memory_order_relaxed);  // written by this process
  s->make_active();
  return s;
}

std::shared_ptr<LogSegment> LogSegment::open(const std::filesystem::path& dir, std::int64_t base_offset,
                                       const Options& opts, bool trust_indexes, ScanOutcome* outcome) {
  std::shared_ptr<LogSegment> s(new LogSegment(dir, base_offset, opts));
  s->file_ = std::make_shared<const io::File>(
      io::File::open(dir / file_name(base_offset, ".log"), io::File::Mode::read_write));
  auto size = s->file_->size();
  if (!size) throw_io(size.error());
  s->map_view(*size, false);
  s->publish(base_offset, *size);

  bool trusted = false;
  if (trust_indexes) {
    const bool have_files = std::filesystem::exists(dir / file_name(base_offset, ".index")) &&
                            std::filesystem::exists(dir / file_name(base_offset, ".timeindex"));
    if (have_files) {
      s->open_indexes(false, false);
      const char* why = nullptr;
      if (s->offset_index_->file().had_partial_entry() || s->time_index_->file().had_partial_entry()) {
        why = "index file size is not a whole number of entries";
      } else if (!s->offset_index_->sane_ends(*size)) {
        // Only the ends (O(1), as Kafka checks at open): a start-up reads no
        // segment's whole index. Lookups check the entries they use (find),
        // the time index is checked whole on its first use.
        why = "offset index entries out of order or past the end";
      } else if (!s->load_tail()) {
        why = "batches after the last index entry do not follow on";
      } else if (!s->time_index_->sane_ends(s->committed().next_offset)) {
        why = "time index entries out of order or past the end";
      } else {
        trusted = true;
        s->time_entries_at_open_ = s->time_index_->entries();
      }
      if (!trusted) {
        spdlog::warn("log {}: index of segment {} does not match its .log ({}); rebuilding", dir.string(),
                     base_offset, why);
      }
    } else {
      spdlog::warn("log {}: index files of segment {} missing; rebuilding", dir.string(), base_offset);
    }
  }
  ScanOutcome out;
  if (trusted) {
    Committed c = s->committed();
    out.valid_bytes = c.size;
    out.next_offset = c.next_offset;
  } else {
    s->publish(base_offset, *size);
    out = s->recover();
    out.indexes_rebuilt = true;
    s->time_index_state_.store(kIndexChecked, std::memory_order_relaxed);  // rebuilt by this process
    if (auto r = s->seal(); !r) {
      throw std::system_error(r.error().sys_errno, std::system_category(), r.error().message);
    }
  }
  // The mapping was for the checks above. Readers map the segment again on
  // their first lookup (map_for_reads), the way every segment is mapped,
  // and as it is: an opened segment takes no appends until make_active().
  s->unmap_view();
  s->sealed_.store(true, std::memory_order_release);
  if (outcome != nullptr) *outcome = out;
  return s;
}

void LogSegment::open_indexes(bool reset, bool grow) {
  offset_index_.reset();
  time_index_.reset();
  std::size_t cap = grow ? opts_.index_capacity_bytes : 0;
  indexes_grown_ = grow;
  offset_index_ = std::make_unique<OffsetIndex>(dir_ / file_name(base_offset_, ".index"), base_offset_,
                                                cap / OffsetIndex::kEntrySize * OffsetIndex::kEntrySize,
                                                reset);
  time_index_ = std::make_unique<TimeIndex>(dir_ / file_name(base_offset_, ".timeindex"), base_offset_,
                                            grow ? (cap / OffsetIndex::kEntrySize + 1) * TimeIndex::kEntrySize : 0,
                                            reset);
}

void LogSegment::map_view(std::uint64_t len, bool writable) {
  unmap_view();
  if (len == 0) return;
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* p = ::mmap(nullptr, len, prot, MAP_SHARED, file_->fd(), 0);
  if (p == MAP_FAILED) {
    throw std::system_error(errno, std::system_category(), fmt::format("mmap {}", file_->path().string()));
  }
  map_len_.store(len, std::memory_order_relaxed);
  data_.store(static_cast<std::byte*>(p), std::memory_order_release);
}

void LogSegment::unmap_view() noexcept {
  if (std::byte* d = data_.exchange(nullptr, std::memory_order_relaxed)) ::munmap(d, map_len_.load(std::memory_order_relaxed));
  map_len_.store(0, std::memory_order_relaxed);
}

const std::byte* LogSegment::map_for_readers(std::uint64_t size) const noexcept {
  if (!opts_.map_for_reads || size == 0 || map_failed_.load(std::memory_order_relaxed)) return nullptr;
  std::lock_guard lk(map_mu_);
  if (std::byte* d = data_.load(std::memory_order_acquire)) {
    return size <= map_len_.load(std::memory_order_relaxed) ? d : nullptr;
  }
  // The active segment is mapped for all it can grow to (the file is
  // shorter: only committed bytes are ever touched), a sealed one as it is.
  const std::uint64_t len = sealed_.load(std::memory_order_acquire) ? size : std::max(size, opts_.segment_bytes);
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, file_->fd(), 0);
  if (p == MAP_FAILED) {
    map_failed_.store(true, std::memory_order_relaxed);
    spdlog::warn("segment {}: cannot map {} for lookups ({}); they read it with pread instead", base_offset_,
                 file_->path().string(), std::strerror(errno));
    return nullptr;
  }
  map_len_.store(len, std::memory_order_relaxed);
  data_.store(static_cast<std::byte*>(p), std::memory_order_release);
  return static_cast<std::byte*>(p);
}

Committed LogSegment::committed() const noexcept {
  for (;;) {
    std::uint64_t s1 = seq_.load(std::memory_order_acquire);
    if ((s1 & 1) != 0) continue;
    Committed c{next_offset_.load(std::memory_order_relaxed), size_.load(std::memory_order_relaxed)};
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == s1) return c;
  }
}

BatchLocation LogSegment::location_from(const std::byte* p, std::uint64_t position) noexcept {
  BatchLocation l;
  l.position = position;
  l.base_offset = load_be64(p);
  l.size = kLogOverhead + static_cast<std::uint32_t>(load_be32(p + 8));
  l.last_offset = l.base_offset + load_be32(p + 23);
  l.max_timestamp = load_be64(p + 35);
  return l;
}

void LogSegment::add_index_entries(const AppendedBatch& b, std::uint64_t position) {
  bool ok = offset_index_->full() || offset_index_->append(b.base_offset, position);
  if (offset_of_max_timestamp_ >= 0) {
    ok = time_index_->maybe_append(max_timestamp_.load(std::memory_order_relaxed), offset_of_max_timestamp_) && ok;
  }
  if (!ok) [[unlikely]] {
    // Disk full: the entry is skipped (lookups scan on from the entry before)
    // and tried again with the next batch.
    if (!index_reserve_warned_) {
      index_reserve_warned_ = true;
      const int e = offset_index_->file().reserve_errno() ? offset_index_->file().reserve_errno()
                                                           : time_index_->file().reserve_errno();
      spdlog::warn("log {}: segment {}: cannot reserve index blocks ({}); index entries are skipped until "
                   "there is space",
                   dir_.string(), base_offset_, std::strerror(e));
    }
    return;
  }
  bytes_since_index_entry_ = 0;
}

ScanOutcome LogSegment::recover() {
  open_indexes(/*reset=*/true, /*grow=*/true);
  max_timestamp_.store(-1, std::memory_order_relaxed);
  offset_of_max_timestamp_ = -1;
  bytes_since_index_entry_ = 0;
  const std::uint64_t size = committed().size;
  const std::byte* data = data_.load(std::memory_order_relaxed);  // mapped by open()
  ScanOutcome out;
  std::uint64_t pos = 0;
  std::int64_t next = base_offset_;
  while (pos < size) {
    std::span<const std::byte> rest(data + pos, static_cast<std::size_t>(size - pos));
    auto h = validate_batch(rest, true, {}, UINT64_MAX, /*exact_count=*/false);
    if (!h) {
      out.error = h.error();
      out.error->message = fmt::format("segment {} position {}: {}", base_offset_, pos, h.error().message);
      break;
    }
    if (h->base_offset < next) {  // gaps are compaction's; overlaps are damage
      out.error = LogError{LogErrc::corrupt_message, 0,
                           fmt::format("segment {} position {}: batch base offset {} where at least {} was expected",
                                       base_offset_, pos, h->base_offset, next)};
      break;
    }
    if (offset_index_->full()) {
      out.error = LogError{LogErrc::corrupt_message, 0,
                           fmt::format("segment {} position {}: offset index full", base_offset_, pos)};
      break;
    }
    AppendedBatch b{h->base_offset, h->last_offset(), h->max_timestamp, h->total_size()};
    index_batch(b, pos);
    pos += b.size;
    next = b.last_offset + 1;
  }
  out.valid_bytes = pos;
  out.next_offset = next;
  out.dropped_bytes = size - pos;
  if (out.dropped_bytes > 0 && out.error && out.dropped_bytes > kBatchHeaderSize) {
    // A torn tail ends the file; flipped bytes are followed by more batches.
    BatchHeader h = parse_batch_header({data + pos, kBatchHeaderSize});
    std::uint64_t next_pos = pos + h.total_size();
    if (h.batch_length > 0 && next_pos < size) {
      out.followed_by_valid =
          validate_batch({data + next_pos, static_cast<std::size_t>(size - next_pos)}, true, {}, UINT64_MAX, false).has_value();
    }
  }
  if (out.dropped_bytes > 0) {
    out.zero_tail = std::all_of(data + pos, data + size, [](std::byte b) { return b == std::byte{0}; });
    if (auto r = file_->truncate(pos); !r) throw_io(r.error());
  }
  publish(next, pos);
  // Rebuilt indexes stay at their capacity until seal()/make_active().
  return out;
}

bool LogSegment::load_tail() {
  const std::uint64_t size = committed().size;
  std::uint64_t pos = 0;
  std::int64_t next = base_offset_;
  std::size_t n = offset_index_->entries();
  if (n > 0) {
    OffsetPosition last = offset_index_->entry(n - 1);
    pos = last.position;
    next = last.offset;
  }
  std::int64_t max_ts = -1;
  std::int64_t max_ts_offset = -1;
  if (std::size_t tn = time_index_->entries(); tn > 0) {
    TimestampOffset t = time_index_->entry(tn - 1);
    max_ts = t.timestamp;
    max_ts_offset = t.offset;
  }
  std::uint64_t since_entry = 0;
  while (pos < size) {
    if (size - pos < kBatchHeaderSize) return false;
    BatchLocation l = location_at(pos);
    if (static_cast<std::int8_t>(data_.load(std::memory_order_relaxed)[pos + 16]) != kMagicV2 || l.size < kBatchHeaderSize ||
        l.size > size - pos || (since_entry == 0 && n > 0 ? l.base_offset != next : l.base_offset < next) ||
        l.last_offset < l.base_offset) {
      return false;
    }
    if (l.max_timestamp > max_ts) {
      max_ts = l.max_timestamp;
      max_ts_offset = l.base_offset;
    }
    since_entry += l.size;
    pos += l.size;
    next = l.last_offset + 1;
  }
  max_timestamp_.store(max_ts, std::memory_order_release);
  offset_of_max_timestamp_ = max_ts_offset;
  bytes_since_index_entry_ = since_entry;
  publish(next, size);
  return true;
}

void LogSegment::make_active() {
  Committed c = committed();
  sealed_.store(false, std::memory_order_release);
  indexes_synced_.store(false);
  if (!indexes_grown_) open_indexes(/*reset=*/false, /*grow=*/true);
  if (opts_.write_mode == WriteMode::mmap) {
    if (c.size < opts_.segment_bytes) {
      if (auto r = file_->fallocate(0, opts_.segment_bytes); !r) throw_io(r.error());
    }
    map_view(std::max<std::uint64_t>(c.size, opts_.segment_bytes), true);
  }
  zero_end_ = c.size;
  behind_next_ = c.size / kPage * kPage;  // page-aligned chunks: fadvise drops whole pages only
  if (opts_.write_mode == WriteMode::pwrite && opts_.preallocate_bytes != 0 && opts_.zero_fill_bytes == 0) {
    prealloc_end_ = c.size;
    // A crash may have left an earlier reservation past the end (at most a
    // chunk past the size it had then, and recovery's truncation frees
    // everything past a shortened end): seal() punches out that much too.
    reserved_end_ = c.size + opts_.preallocate_bytes + kPage;
  }
  active_ = true;
}

void LogSegment::preallocate(std::uint64_t end) noexcept {
  // [prealloc_end_, end + preallocate_bytes), page-aligned, within the segment.
  const std::uint64_t from = prealloc_end_ / kPage * kPage;
  const std::uint64_t to =
      std::max(end, std::min<std::uint64_t>(opts_.segment_bytes, (end + opts_.preallocate_bytes + kPage - 1) / kPage * kPage));
  prealloc_end_ = to;
  if (to <= from) return;
  if (auto r = file_->reserve(from, to - from); !r) {
    if (r.error().err == EOPNOTSUPP) {
      prealloc_end_ = kNoPrealloc;  // this filesystem cannot: do not ask again for this segment
    }
    // ENOSPC and the like: the append's pwrite allocates as it would have
    // (and fails on its own if there is no room). Asked again a chunk later.
    spdlog::debug("segment {}: reserving [{}, {}) ahead of the writer: {}", base_offset_, from, to, r.error().message());
    return;
  }
  reserved_end_ = std::max(reserved_end_, to);
}

LogResult<void> LogSegment::append_beyond_mapping(std::size_t bytes, std::uint64_t pos) const {
  return log_fail(LogErrc::record_list_too_large,
                  fmt::format("{} bytes do not fit in the mapped segment ({} of {} used)", bytes, pos,
                              map_len_.load(std::memory_order_relaxed)));
}

LogResult<void> LogSegment::append_write_failed(std::size_t bytes, std::uint64_t pos, const io::IoError& e) {
  // Cut any partial write back so the file ends at the committed size.
  (void)file_->truncate(pos);
  zero_end_ = pos;
  return log_fail(LogErrc::storage_error,
                  fmt::format("append of {} bytes at position {} failed: {}", bytes, pos, e.message()), e.err);
}

void LogSegment::zero_fill(std::uint64_t end) noexcept {
  if (end + opts_.zero_fill_bytes / 2 <= zero_end_) return;
  // Top up to `zero_fill_bytes` past `end` (page-aligned, never past the
  // segment size). The zeros written now are allocated at the next sync --
  // one journal commit per refill instead of one per sync.
  const std::uint64_t target =
      std::min<std::uint64_t>(opts_.segment_bytes, (end + opts_.zero_fill_bytes + kPage - 1) / kPage * kPage);
  std::uint64_t at = zero_end_;
  while (at < target) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kZeroChunk, target - at));
    if (auto r = file_->pwrite_full(std::span(kZeros, n), at); !r) {
      // No room (ENOSPC, EFBIG): no preallocation; the append itself will
      // extend the file or fail with the error as usual.
      const std::uint64_t committed_size = size_.load(std::memory_order_relaxed);
      (void)file_->truncate(committed_size);
      zero_end_ = committed_size;
      spdlog::debug("segment {}: zero fill up to {} failed: {}", base_offset_, target, r.error().message());
      return;
    }
    at += n;
  }
  zero_end_ = target;
}

void LogSegment::drop_behind(std::uint64_t chunk) noexcept {
  if (chunk == 0 || opts_.write_mode != WriteMode::pwrite) return;
  const std::uint64_t end = size_.load(std::memory_order_relaxed);
  // Far behind: appended without drop-behind (as the leader). Only the last
  // two chunks are taken up, so that a new follower does not wait for the
  // writeback of a whole segment.
  if (end - behind_next_ > 4 * chunk) behind_next_ = (end - 2 * chunk) / kPage * kPage;
  while (behind_next_ + chunk <= end) {
    const std::uint64_t at = behind_next_;
    if (auto r = file_->sync_range(at, chunk, SYNC_FILE_RANGE_WRITE); !r) {
      spdlog::debug("segment {}: starting writeback of [{}, +{}): {}", base_offset_, at, chunk, r.error().message());
    }
    if (at >= chunk) {
      // The previous chunk: its writeback was started a chunk ago. Only
      // clean pages can be dropped, hence the wait.
      const std::uint64_t prev = at - chunk;
      auto r = file_->sync_range(prev, chunk,
                                 SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
      if (r) r = file_->fadvise(prev, chunk, POSIX_FADV_DONTNEED);
      if (!r) spdlog::debug("segment {}: dropping [{}, +{}): {}", base_offset_, prev, chunk, r.error().message());
    }
    behind_next_ = at + chunk;
  }
}

LogResult<void> LogSegment::sync() {
  if (auto r = file_->fdatasync(); !r) {
    return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
  }
  // A sealed segment's indexes are final: write them back once, off the append
  // path, before the recovery point moves past this segment.
  if (sealed_.load(std::memory_order_acquire) && !indexes_synced_.exchange(true)) {
    for (IndexFile* f : {&offset_index_->file(), &time_index_->file()}) {
      if (auto r = f->flush(); !r) return r;
    }
  }
  return {};
}

LogResult<void> LogSegment::seal() {
  if (offset_of_max_timestamp_ >= 0) {
    time_index_->maybe_append(max_timestamp_.load(std::memory_order_relaxed), offset_of_max_timestamp_);
  }
  if (active_ && (opts_.write_mode == WriteMode::mmap || zero_end_ > committed().size)) {
    // Drop the preallocation (mmap mode's, or pwrite mode's zero fill). The
    // mapping stays (readers may be scanning); pages past the new end are
    // never touched.
    if (auto r = file_->truncate(committed().size); !r) {
      return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
    }
    zero_end_ = committed().size;
  }
  if (active_ && reserved_end_ > 0) {
    // Give back the reserved pages (blocks) no append reached: the size
    // stays, no byte of the log changes.
    if (auto r = file_->release_reserved(committed().size, reserved_end_); !r) {
      spdlog::warn("segment {}: cannot free what was reserved past its end ({}): {}", base_offset_,
                   reserved_end_, r.error().message());
    }
    reserved_end_ = 0;
    prealloc_end_ = kNoPrealloc;
  }
  for (IndexFile* f : {&offset_index_->file(), &time_index_->file()}) {
    if (auto r = f->trim(); !r) return r;
  }
  indexes_grown_ = false;
  sealed_.store(true, std::memory_order_release);
  active_ = false;
  return {};
}

bool LogSegment::prefault(std::uint64_t max_bytes) noexcept {
  std::byte* const data = data_.load(std::memory_order_relaxed);
  if (opts_.write_mode != WriteMode::mmap || data == nullptr || sealed_.load(std::memory_order_acquire)) {
    return false;
  }
  const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t from = std::max(committed().size / page * page, prefaulted_);
  const std::uint64_t map_len = map_len_.load(std::memory_order_relaxed);
  if (from >= map_len) return false;
  const std::uint64_t len = std::min<std::uint64_t>(map_len - from, std::max(max_bytes, page) / page * page);
  if (::madvise(data + from, len, MADV_POPULATE_WRITE) != 0) {
    spdlog::debug("segment {}: madvise(MADV_POPULATE_WRITE): {}", base_offset_, std::strerror(errno));
    return false;  // unsupported (kernel < 5.14) or failed: appends fault pages in themselves
  }
  prefaulted_ = from + len;
  return prefaulted_ < map_len;
}

void LogSegment::remove_files(const std::filesystem::path& dir, std::int64_t base_offset, const char* name_suffix) noexcept {
  for (const char* suffix : kFileSuffixes) {
    std::error_code ec;
    // std::filesystem::remove reports a missing file as false, not as an error
    // (a topic deletion may have removed the directory meanwhile).
    std::filesystem::remove((dir / file_name(base_offset, suffix)).string() + name_suffix, ec);
    if (ec) spdlog::warn("log {}: cannot delete {}{}: {}", dir.string(), file_name(base_offset, suffix), name_suffix, ec.message());
  }
}

void LogSegment::retire_files() noexcept {
  for (const char* suffix : kFileSuffixes) {
    const auto from = dir_ / file_name(base_offset_, suffix);
    std::error_code ec;
    std::filesystem::rename(from, from.string() + kDeletedSuffix, ec);
    if (ec) spdlog::warn("log {}: cannot retire {}: {}", dir_.string(), file_name(base_offset_, suffix), ec.message());
  }
}

namespace {

constexpr std::uint64_t kPreadFirstWindow = 4096;

// Header access for the hops of find() and find_by_timestamp(): at(pos, n)
// returns `n` readable bytes at `pos` (pos + n <= the committed size), or
// null after a read error. The pointer is good until the next call.
struct MappedBytes {
  const std::byte* data;
  const std::byte* at(std::uint64_t pos, std::size_t) const noexcept { return data + pos; }
};

// A segment read without a mapping (map_for_reads off, or mmap failed): a
// window of the file read with one pread, refilled from the asked position
// on a miss.
class PreadBytes {
 public:
  PreadBytes(const io::File& file, std::uint64_t size, std::int64_t base_offset) noexcept
      : file_(file), size_(size), base_offset_(base_offset) {}
  // How far the first read should reach (the bytes the hop will likely need).
  void expect_until(std::uint64_t end) noexcept { first_end_ = end; }
  const std::byte* at(std::uint64_t pos, std::size_t n) noexcept {
    if (pos >= start_ && pos + n <= start_ + len_) [[likely]] return buf_ + (pos - start_);
    return fill(pos, n);
  }

 private:
  static constexpr std::size_t kCapacity = 16 * 1024;  // >= kPreadFirstWindow + a header
  static constexpr std::size_t kRefill = 4096;

  const std::byte* fill(std::uint64_t pos, std::size_t n) noexcept {
    std::uint64_t end = pos + std::max<std::uint64_t>(n, kRefill);
    if (first_end_ != 0) end = std::max(pos + n, first_end_);
    first_end_ = 0;
    end = std::min({end, size_, pos + kCapacity});
    const auto len = static_cast<std::size_t>(end - pos);
    auto r = file_.pread_full(std::span(buf_, len), pos);
    if (!r || *r < n) {
      spdlog::warn("segment {}: reading {} bytes at position {} of {}: {}", base_offset_, len, pos,
                   file_.path().string(), r ? "the file is shorter than its committed size" : r.error().message());
      len_ = 0;
      return nullptr;
    }
    start_ = pos;
    len_ = *r;
    return buf_;
  }

  const io::File& file_;
  std::uint64_t size_;
  std::int64_t base_offset_;
  std::uint64_t first_end_ = 0;
  std::uint64_t start_ = 0;
  std::size_t len_ = 0;
  alignas(64) std::byte buf_[kCapacity];
};

// Hops over whole batches from `pos` (a batch start) reading only each
// header's first line (baseOffset, batchLength, lastOffsetDelta): the answer
// is the first batch whose last offset is >= `offset` -- the batch holding
// it, or in a compacted log the first batch after the gap it fell in.
// Nullopt when `offset` is past the last batch or a read failed.
template <class Bytes>
std::optional<BatchLocation> hop_to(Bytes& bytes, std::uint64_t pos, std::uint64_t size, std::int64_t offset) noexcept {
  while (pos + kBatchHeaderSize <= size) {
    const std::byte* p = bytes.at(pos, kBatchHeaderSize);
    if (p == nullptr) [[unlikely]] return std::nullopt;
    const BatchLocation l = LogSegment::location_from(p, pos);
    if (l.last_offset >= offset) return l;
    pos += l.size;
  }
  return std::nullopt;
}

// Whether the batch of offset `at.offset` starts at `at.position` (what an
// index entry claims, and the hop relies on: it reads lengths from there).
// One compare on the line the hop reads first anyway.
template <class Bytes>
bool batch_starts_at(Bytes& bytes, OffsetPosition at, std::uint64_t size) noexcept {
  if (at.position + kBatchHeaderSize > size) return false;
  const std::byte* p = bytes.at(at.position, kBatchHeaderSize);
  if (p == nullptr) return false;
  // Position 0 stands for the segment's start: a compacted segment's first
  // batch may begin after its base offset.
  return at.position == 0 ? load_be64(p) >= at.offset : load_be64(p) == at.offset;
}

// The first batch from `pos` whose maxTimestamp >= ts.
template <class Bytes>
std::optional<BatchLocation> hop_to_timestamp(Bytes& bytes, std::uint64_t pos, std::uint64_t size,
                                              std::int64_t ts) noexcept {
  while (pos + kBatchHeaderSize <= size) {
    const std::byte* h = bytes.at(pos, kBatchHeaderSize);
    if (h == nullptr) [[unlikely]] return std::nullopt;
    BatchLocation l = LogSegment::location_from(h, pos);
    if (l.max_timestamp >= ts) return l;
    pos += l.size;
  }
  return std::nullopt;
}

}  // namespace

std::optional<BatchLocation> LogSegment::find(std::int64_t offset) const noexcept {
  Committed c = committed();
  // An empty segment (the active one after a roll, or one the cleaner
  // emptied) holds nothing, even for an offset in the gap before its base.
  if (offset >= c.next_offset || c.size == 0) return std::nullopt;
  IndexWindow w = offset_index_->lookup_window(offset);
  if (w.from.position >= c.size || index_distrusted_.load(std::memory_order_relaxed)) [[unlikely]] {
    w = IndexWindow{{base_offset_, 0}};  // scan from the segment's start
  }
  std::uint64_t pos = w.from.position;
  // How far the hop will likely read: to the end of the index window, or --
  // batches of one producer are of similar size, so the one holding `offset`
  // lies about proportionally far into the window -- up to there plus a
  // quarter window of slack (a wrong guess only costs time, never
  // correctness).
  const std::uint64_t stop =
      std::min<std::uint64_t>(c.size, w.next_position < c.size ? w.next_position + kLogOverhead : c.size);
  constexpr std::uint64_t kLine = 64;
  constexpr std::uint64_t kMaxPrefetch = 16 * 1024;  // a sparse index may leave a wider window
  std::uint64_t last = std::min(stop, pos + kMaxPrefetch);
  if (pos == w.from.position && w.next_position < c.size && w.next_offset > w.from.offset) {
    const std::uint64_t span = w.next_position - pos;
    const auto into = static_cast<std::uint64_t>(offset - w.from.offset);
    const auto width = static_cast<std::uint64_t>(w.next_offset - w.from.offset);
    last = std::min(last, pos + span * into / width + span / 4 + 2 * kLine);
  }
  if (const std::byte* data = read_view(c.size)) {
    // The hop is a chain of dependent loads through ~index_interval_bytes of
    // (on a random lookup) cold memory: ask for every line of the likely
    // window at once so the misses overlap instead of queueing. After the
    // load of the first header, which the hop needs first: issued before
    // them, it does not wait behind their misses (+4-12 % lookups/s in
    // bench_log's BM_ReadRandom; docs/architecture-log.md, "Lookups").
    MappedBytes hdr{data};
    if (!batch_starts_at(hdr, w.from, c.size)) [[unlikely]] pos = distrust_index(w.from);
    for (std::uint64_t a = pos & ~(kLine - 1); a < last; a += kLine) __builtin_prefetch(data + a);
    return hop_to(hdr, pos, c.size, offset);
  }
  // One page of headers at first: a wider guess would copy record bytes the
  // hop skips (a window of large batches holds one header in 100 KiB).
  PreadBytes hdr(*file_, c.size, base_offset_);
  hdr.expect_until(std::min(last, pos + kPreadFirstWindow) + kBatchHeaderSize);
  if (!batch_starts_at(hdr, w.from, c.size)) [[unlikely]] pos = distrust_index(w.from);
  return hop_to(hdr, pos, c.size, offset);
}

void LogSegment::check_time_index(Committed c) const noexcept {
  // Only the entries found at open: those written since are in order by
  // construction, and may name a batch of an append not yet committed (an
  // active segment's writer indexes before it publishes). The ones found at
  // open all lie below the next offset of then. Racing first lookups both
  // check (a read).
  std::uint8_t expected = kIndexUnchecked;
  const std::uint8_t result =
      time_index_->sane(c.next_offset, time_entries_at_open_) ? kIndexChecked : kIndexDistrusted;
  if (time_index_state_.compare_exchange_strong(expected, result, std::memory_order_acq_rel) &&
      result == kIndexDistrusted) {
    spdlog::error("log {}: segment {}: the time index is out of order or points past the segment; timestamp "
                  "lookups in this segment scan it from the start from now on. Delete {} to have it rebuilt at "
                  "the next start.",
                  dir_.string(), base_offset_, file_name(base_offset_, ".timeindex"));
  }
}

std::uint64_t LogSegment::distrust_index(OffsetPosition entry) const noexcept {
  if (!index_distrusted_.exchange(true)) {
    spdlog::error("log {}: segment {}: the offset index says offset {} starts at position {}, but no batch of that "
                  "offset starts there; lookups in this segment scan it from the start from now on. Delete {} to "
                  "have it rebuilt at the next start.",
                  dir_.string(), base_offset_, entry.offset, entry.position,
                  file_name(base_offset_, ".index"));
  }
  return 0;
}

std::optional<BatchLocation> LogSegment::find_by_timestamp(std::int64_t ts) const noexcept {
  Committed c = committed();
  if (max_timestamp() < ts) return std::nullopt;
  if (time_index_state_.load(std::memory_order_acquire) != kIndexChecked) [[unlikely]] check_time_index(c);
  const TimestampOffset t = time_index_state_.load(std::memory_order_relaxed) == kIndexDistrusted
                                ? TimestampOffset{-1, base_offset_}
                                : time_index_->lookup_before(ts);
  OffsetPosition from = offset_index_->lookup(t.offset);
  if (from.position >= c.size || index_distrusted_.load(std::memory_order_relaxed)) from = {base_offset_, 0};
  std::uint64_t pos = from.position;
  if (const std::byte* data = read_view(c.size)) {
    MappedBytes hdr{data};
    if (!batch_starts_at(hdr, from, c.size)) [[unlikely]] pos = distrust_index(from);
    return hop_to_timestamp(hdr, pos, c.size, ts);
  }
  PreadBytes hdr(*file_, c.size, base_offset_);
  if (!batch_starts_at(hdr, from, c.size)) [[unlikely]] pos = distrust_index(from);
  return hop_to_timestamp(hdr, pos, c.size, ts);
}

std::span<const std::byte> LogSegment::bytes(std::uint64_t position, std::uint64_t len,
                                          std::vector<std::byte>& scratch) const {
  if (const std::byte* data = read_view(position + len)) {
    return {data + position, static_cast<std::size_t>(len)};
  }
  scratch.resize(static_cast<std::size_t>(len));
  auto r = file_->pread_full(scratch, position);
  if (!r || *r != len) {
    spdlog::warn("segment {}: reading {} bytes at position {} of {}: {}", base_offset_, len, position,
                 file_->path().string(), r ? "the file is shorter than its committed size" : r.error().message());
    return {};
  }
  return scratch;
}

}  // namespace nocopy::log
