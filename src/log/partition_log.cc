// PartitionLog's data path: append (offset assignment, segment roll, flush
// scheduling), read, offset/timestamp lookups, retention and flushing. Opening,
// recovery and closing live in partition_log_lifecycle.cc.
#include "log/partition_log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <chrono>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "log/cleaner_swap.h"
#include "log/crc32c.h"
#include "log/record_batch.h"

namespace nocopy::log {

namespace {

LogError storage_error_from(const std::system_error& e) {
  return LogError{LogErrc::storage_error, e.code().value(), e.what()};
}

// mmap mode: how much of a new segment one flusher run prefaults before it
// lets the pool serve other logs (it reschedules itself for the rest). 2 MiB
// is 512 page faults taken ahead, a few hundred microseconds.
constexpr std::uint64_t kPrefaultChunkBytes = 2u << 20;

}  // namespace

PartitionLog::PartitionLog(std::filesystem::path dir, LogConfig config)
    : dir_(std::move(dir)),
      config_(std::move(config)),
      max_message_bytes_(config_.max_message_bytes),
      flusher_(config_.flush, log_end_, *this, dir_.string()),
      age_roll_(config_.segment_ms, static_cast<bool>(config_.clock)) {}

PartitionLog::~PartitionLog() { close(); }

namespace {
// The coarse clock (the last timer tick, a few ms granular) costs a few ns
// through the vDSO against ~25 ns for the precise one. append() reads it
// only for LogAppendTime and a segment's first append (roll by age goes by
// a deadline); its unit is the millisecond. (system_clock::now() remains
// the fallback.)
inline std::int64_t coarse_wall_ms() noexcept {
  timespec ts{};
  if (::clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0) [[likely]] {
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

// Inlined into append() (one call level fewer on the hot path).
[[gnu::always_inline]] inline std::int64_t PartitionLog::now_ms() const {
  if (config_.clock) [[unlikely]] return config_.clock();
  return coarse_wall_ms();
}

LogSegment::Options PartitionLog::segment_options() const {
  LogSegment::Options o;
  o.write_mode = config_.write_mode;
  o.segment_bytes = config_.segment_bytes;
  o.index_interval_bytes = config_.index_interval_bytes;
  o.map_for_reads = config_.map_for_reads;
  // One entry per crossed interval: segment_bytes / interval + 1 entries at most.
  std::uint64_t needed = (config_.segment_bytes / config_.index_interval_bytes + 2) * OffsetIndex::kEntrySize;
  o.index_capacity_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(needed, config_.max_index_bytes));
  if (config_.write_mode == WriteMode::pwrite && config_.flush.mode == FlushPolicy::Mode::every_append) {
    o.zero_fill_bytes = config_.sync_zero_fill_bytes;
  }
  if (config_.write_mode == WriteMode::pwrite) o.preallocate_bytes = config_.preallocate_bytes;
  return o;
}

std::shared_ptr<LogSegment> PartitionLog::active() const {
  std::shared_lock lk(segments_mu_);
  return segments_.rbegin()->second;
}

std::shared_ptr<LogSegment> PartitionLog::segment_for(std::int64_t offset) const {
  std::shared_lock lk(segments_mu_);
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second;
}

std::shared_ptr<LogSegment> PartitionLog::next_segment(std::int64_t base) const {
  std::shared_lock lk(segments_mu_);
  auto it = segments_.upper_bound(base);
  if (it == segments_.end()) return nullptr;
  return it->second;
}

// append()'s steps are inline: every call level between the write and the
// caller returns cold after the kernel's write path (docs/architecture-log.md).
[[gnu::always_inline]] inline LogResult<PartitionLog::Request> PartitionLog::validate(
    std::span<std::byte> batches, std::vector<AppendedBatch>& infos) const {
  infos.clear();
  if (batches.empty()) return log_fail(LogErrc::invalid_record, "empty append request");
  std::uint64_t pos = 0;
  Request req;
  // max.message.bytes, checked before each batch's CRC (reconfigure() may
  // change it; the segment size is checked under the lock).
  const std::uint64_t max_size = max_message_bytes_.load(std::memory_order_relaxed);
  while (pos < batches.size()) {
    auto h = validate_batch(std::span<const std::byte>(batches).subspan(pos), true, {}, max_size);
    if (!h) [[unlikely]] {
      LogError e = h.error();
      e.message = fmt::format("batch {} at byte {}: {}", infos.size(), pos, e.message);
      return std::unexpected(std::move(e));
    }
    if (config_.require_zero_base_offset && h->base_offset != 0) [[unlikely]] {
      return log_fail(LogErrc::invalid_record, fmt::format("batch {} at byte {}: baseOffset {} is not 0",
                                                           infos.size(), pos, h->base_offset));
    }
    if (!config_.allow_control_batches && h->is_control()) [[unlikely]] {
      return log_fail(LogErrc::invalid_record,
                      fmt::format("batch {} at byte {}: control batches are not accepted", infos.size(), pos));
    }
    infos.push_back(AppendedBatch{0, h->last_offset_delta, h->max_timestamp, h->total_size()});
    req.records += h->records_count;
    req.max_timestamp = std::max(req.max_timestamp, h->max_timestamp);
    pos += h->total_size();
  }
  return req;
}

[[gnu::always_inline]] inline LogResult<LogSegment*> PartitionLog::segment_to_append(std::size_t bytes,
                                                                                    std::int64_t records,
                                                                                    std::int64_t& now) {
  if (closed_) [[unlikely]] return log_fail(LogErrc::closed, "log is closed");
  if (bytes > config_.segment_bytes) [[unlikely]] {
    return log_fail(LogErrc::record_list_too_large,
                    fmt::format("{} bytes do not fit in one segment ({} bytes)", bytes, config_.segment_bytes));
  }
  if (flusher_.failed()) [[unlikely]] return std::unexpected(flusher_.error());
  // Writers hold append_mu_, so the active segment cannot go away under us:
  // no reference count traffic on the hot path.
  LogSegment* seg = active_seg_;
  // The wall clock is read only when something needs it: LogAppendTime, a
  // segment's first append, or an injected clock. Roll by age otherwise
  // goes by a deadline the flusher watches (AgeRoll).
  if (config_.timestamp_type == TimestampType::log_append_time || seg->first_append_ms() < 0 || config_.clock)
      [[unlikely]] {
    now = now_ms();
  }
  Committed c = seg->committed_by_writer();
  const bool need_roll =
      c.size > 0 && (c.size + bytes > std::min(config_.segment_bytes, seg->capacity()) ||
                     age_roll_.due(*seg, now) || seg->indexes_full() ||
                     c.next_offset + records - seg->base_offset() > std::numeric_limits<std::int32_t>::max());
  if (need_roll) [[unlikely]] {
    if (auto r = roll_locked(); !r) return std::unexpected(r.error());
    seg = active_seg_;
    if (now < 0) now = now_ms();  // the new segment's first append
  }
  if (bytes > seg->capacity()) [[unlikely]] {
    // Only after reconfigure() raised segment_bytes while the active segment
    // (made for the old size) is still empty: it cannot roll yet.
    return log_fail(LogErrc::record_list_too_large,
                    fmt::format("{} bytes do not fit in the active segment ({} bytes, made before segment_bytes "
                                "was raised); they fit once it rolls",
                                bytes, seg->capacity()));
  }
  return seg;
}

// Patches baseOffset (and, with `append_time` >= 0, Kafka's LogAppendTime)
// into each batch of the caller's buffer; returns the next offset.
[[gnu::always_inline]] inline std::int64_t PartitionLog::assign_offsets(std::span<std::byte> batches,
                                                                       std::span<AppendedBatch> infos,
                                                                       std::int64_t base,
                                                                       std::int64_t append_time,
                                                                       std::int32_t leader_epoch) const {
  std::int64_t next = base;
  std::uint64_t p = 0;
  for (AppendedBatch& b : infos) {
    if (leader_epoch >= 0) [[unlikely]] store_be32(batches.data() + p + 12, leader_epoch);  // not under the CRC
    if (append_time >= 0) [[unlikely]] {
      // Kafka's LogAppendTime: the batch's maxTimestamp becomes the append
      // time and attribute bit 3 says so; records keep their deltas. The
      // CRC covers both fields; validate() checked it, so it is updated
      // from the header bytes alone (crc32c_combine) instead of re-read
      // over the records under the lock (baseOffset is not covered and is
      // patched below as usual).
      std::byte* h = batches.data() + p;
      constexpr std::size_t kCovered = kBatchHeaderSize - kCrcCoveredFrom;
      const std::uint32_t before = crc32c(std::span<const std::byte>(h + kCrcCoveredFrom, kCovered));
      store_be16(h + 21, static_cast<std::int16_t>(load_be16(h + 21) | 0x08));
      store_be64(h + 35, append_time);
      const std::uint32_t after = crc32c(std::span<const std::byte>(h + kCrcCoveredFrom, kCovered));
      const auto crc = static_cast<std::uint32_t>(load_be32(h + kCrcOffset)) ^
                       crc32c_combine(before ^ after, 0, b.size - kBatchHeaderSize);
      store_be32(h + kCrcOffset, static_cast<std::int32_t>(crc));
      b.max_timestamp = append_time;
    }
    store_be64(batches.data() + p, next);
    b.base_offset = next;
    b.last_offset += next;  // held lastOffsetDelta until now
    next = b.last_offset + 1;
    p += b.size;
  }
  return next;
}

[[gnu::always_inline]] inline LogResult<void> PartitionLog::sync_appended(LogSegment& seg, std::int64_t end,
                                                                         std::int64_t records, SyncBy sync_by) {
  if (config_.flush.mode == FlushPolicy::Mode::every_append && !config_.flush.group_commit) [[unlikely]] {
    // The benchmark's baseline: the append syncs under the lock.
    auto r = seg.sync();
    flusher_.complete(end, r ? std::nullopt : std::optional<LogError>(r.error()));
    return r;
  }
  // SyncBy::caller: its wait starts the sync (or joins one).
  flusher_.on_append(end, records, sync_by == SyncBy::caller);
  return {};
}

LogResult<AppendInfo> PartitionLog::append(std::span<std::byte> batches, SyncBy sync_by, std::int32_t leader_epoch) {
  // Validate the whole request before touching anything (CRC work outside the lock).
  thread_local std::vector<AppendedBatch> infos;
  auto req = validate(batches, infos);
  if (!req) [[unlikely]] return std::unexpected(std::move(req.error()));

  std::unique_lock lk(append_mu_);
  std::int64_t now = -1;
  auto seg = segment_to_append(batches.size(), req->records, now);
  if (!seg) [[unlikely]] return std::unexpected(std::move(seg.error()));
  const std::int64_t append_time = config_.timestamp_type == TimestampType::log_append_time ? now : -1;
  const std::int64_t base = log_end_.load(std::memory_order_relaxed);
  const std::int64_t next = assign_offsets(batches, infos, base, append_time, leader_epoch);
  const bool first_append = (*seg)->first_append_ms() < 0;
  if (auto r = (*seg)->append(batches, infos, now); !r) [[unlikely]] {
    spdlog::warn("log {}: {}", dir_.string(), r.error().message);
    return std::unexpected(r.error());
  }
  if (first_append) [[unlikely]] schedule_age(age_roll_.arm((*seg)->base_offset()));
  log_end_.store(next, std::memory_order_release);
  if (leader_epoch >= 0) [[unlikely]] {
    // A new leader's first append starts its epoch (a checkpoint write once per epoch).
    if (auto r = epochs_->assign(leader_epoch, base); !r) {
      spdlog::warn("log {}: leader-epoch checkpoint: {}", dir_.string(), r.error().message);
    }
  }

  AppendInfo info{base, next - 1, append_time >= 0 ? append_time : req->max_timestamp,
                  log_start_.load(std::memory_order_relaxed), static_cast<std::uint32_t>(infos.size()),
                  batches.size(), append_time};
  if (auto r = sync_appended(**seg, next, req->records, sync_by); !r) [[unlikely]] return std::unexpected(r.error());
  return info;
}

// append()'s inline steps, out of line for the replication side (partition_log_replica.cc).
LogResult<LogSegment*> PartitionLog::segment_to_append_outlined(std::size_t bytes, std::int64_t records,
                                                               std::int64_t& now) {
  auto seg = segment_to_append(bytes, records, now);
  if (seg && now < 0) now = now_ms();
  return seg;
}
LogResult<void> PartitionLog::sync_appended_outlined(LogSegment& seg, std::int64_t end, std::int64_t records) {
  return sync_appended(seg, end, records, SyncBy::log);
}

void PartitionLog::schedule_age(std::int64_t due) {
  if (due != AgeRoll::kNever) flusher_.schedule_at(due);
}

void PartitionLog::reconfigure(const LogConfig& limits) {
  if (limits.segment_bytes < 1024 || limits.segment_bytes > std::numeric_limits<std::int32_t>::max()) {
    throw std::invalid_argument("segment_bytes must be in [1024, 2^31-1]");
  }
  std::lock_guard lk(append_mu_);
  config_.segment_bytes = limits.segment_bytes;
  if (config_.segment_ms != limits.segment_ms) {
    config_.segment_ms = limits.segment_ms;
    schedule_age(age_roll_.set_segment_ms(limits.segment_ms));
  }
  config_.retention_ms = limits.retention_ms;
  config_.retention_bytes = limits.retention_bytes;
  config_.retention_rolls_expired_active = limits.retention_rolls_expired_active;
  config_.max_message_bytes = limits.max_message_bytes;
  max_message_bytes_.store(limits.max_message_bytes, std::memory_order_relaxed);
  config_.timestamp_type = limits.timestamp_type;
}

LogResult<void> PartitionLog::roll() {
  std::lock_guard lk(append_mu_);
  if (closed_) return log_fail(LogErrc::closed, "log is closed");
  if (segments_.rbegin()->second->committed().size == 0) return {};
  return roll_locked();
}

LogResult<void> PartitionLog::roll_locked() {
  std::shared_ptr<LogSegment> old = segments_.rbegin()->second;
  const std::int64_t base = log_end_.load(std::memory_order_relaxed);
  std::shared_ptr<LogSegment> seg;
  try {
    seg = LogSegment::create(dir_, base, segment_options());
  } catch (const std::system_error& e) {
    // Leave no half-created files behind; the old segment stays active.
    LogSegment::remove_files(dir_, base);
    spdlog::warn("log {}: cannot roll a new segment at offset {}: {}", dir_.string(), base, e.what());
    return std::unexpected(storage_error_from(e));
  }
  if (auto r = old->seal(); !r) {
    // A half-sealed segment cannot take more appends (an mmap-mode file may
    // already be shorter than its mapping): the log stops accepting writes.
    seg->delete_files();
    flusher_.complete(flusher_.flushed(), r.error());
    return r;
  }
  {
    std::unique_lock wl(segments_mu_);
    segments_[base] = seg;
  }
  active_seg_ = seg.get();
  spdlog::debug("log {}: rolled segment {} at offset {}", dir_.string(), old->base_offset(), base);
  // The flusher syncs the old segment and then moves the recovery point.
  if (config_.flush.mode != FlushPolicy::Mode::every_append || !config_.flush.group_commit) {
    flusher_.request(base);
  }
  if (config_.write_mode == WriteMode::mmap && config_.mmap_prefault) {
    {
      std::lock_guard pl(prefault_mu_);
      to_prefault_ = seg;
    }
    flusher_.schedule();
  }
  return {};
}

LogResult<ReadResult> PartitionLog::read(std::int64_t offset, std::uint64_t max_bytes, std::int64_t upto) const {
  const std::int64_t start = log_start_.load(std::memory_order_acquire);
  const std::int64_t end = log_end_.load(std::memory_order_acquire);
  if (offset < start || offset > end) {
    return log_fail(LogErrc::offset_out_of_range,
                    fmt::format("offset {} is outside the log [{}, {}]", offset, start, end));
  }
  ReadResult res;
  res.high_watermark = end;
  res.log_start_offset = start;
  if (offset >= std::min(end, upto)) return res;
  std::shared_ptr<LogSegment> seg = segment_for(offset);
  if (!seg) {
    return log_fail(LogErrc::offset_out_of_range,
                    fmt::format("offset {} was deleted by retention", offset));
  }
  std::uint64_t remaining = max_bytes;
  std::int64_t cur = offset;
  bool first = true;
  while (seg) {
    Committed c = seg->committed();
    std::optional<BatchLocation> loc = seg->find(cur);
    if (loc && loc->base_offset >= upto) break;  // only above the limit (a compacted gap)
    if (loc) {
      std::uint64_t stop = c.size;
      if (upto < c.next_offset) [[unlikely]] {
        // The limit (the high watermark) inside this segment: the regions
        // end where the batch holding it starts.
        if (std::optional<BatchLocation> lim = seg->find(upto)) stop = std::min(stop, lim->position);
      }
      if (stop <= loc->position) break;
      const std::uint64_t avail = stop - loc->position;
      std::uint64_t len = std::min(remaining, avail);
      if (first) len = std::max(len, loc->size);
      if (len == 0) break;
      res.regions.push_back(buf::FileRegion{seg->file(), loc->position, len});
      res.bytes += len;
      res.high_watermark = std::max(res.high_watermark, c.next_offset);
      remaining = remaining > len ? remaining - len : 0;
      first = false;
      if (remaining == 0 || loc->position + len < c.size || stop < c.size) break;
    }
    cur = std::max(cur, c.next_offset);
    std::shared_ptr<LogSegment> next = next_segment(seg->base_offset());
    // `c` may be older than the roll that made `next`: the segment can have
    // grown after it was read. Its regions end at c.size, so joining `next`
    // would skip the offsets appended in between. (A segment is final once
    // the next one exists: the roll publishes it under segments_mu_.)
    if (next && seg->committed().next_offset > c.next_offset) break;
    seg = std::move(next);
  }
  return res;
}

std::optional<FoundRecord> PartitionLog::record_for_timestamp(std::int64_t ts) const {
  std::vector<std::shared_ptr<LogSegment>> segs;
  {
    std::shared_lock lk(segments_mu_);
    for (const auto& [b, s] : segments_) segs.push_back(s);
  }
  for (const auto& s : segs) {
    if (s->max_timestamp() < ts) continue;
    auto loc = s->find_by_timestamp(ts);
    if (!loc) continue;
    std::vector<std::byte> scratch;
    auto bytes = s->bytes(loc->position, loc->size, scratch);
    if (bytes.size() < kBatchHeaderSize) return FoundRecord{ts, loc->base_offset, -1, false};
    const BatchHeader h = parse_batch_header(bytes);
    FoundRecord found{h.max_timestamp, h.base_offset, h.partition_leader_epoch < 0 ? -1 : h.partition_leader_epoch,
                          h.log_append_time()};
    if (h.compression() == 0 && !h.log_append_time()) {
      // Kafka answers the first *record* at or after ts.
      if (auto recs = parse_records(bytes)) {
        for (const Record& r : *recs) {
          if (h.base_timestamp + r.timestamp_delta < ts) continue;
          found.timestamp = h.base_timestamp + r.timestamp_delta;
          found.offset = h.base_offset + r.offset_delta;
          found.exact = true;
          break;
        }
      }
    }
    return found;
  }
  return std::nullopt;
}

std::optional<FoundRecord> PartitionLog::max_timestamp_record() const {
  std::int64_t max_ts = -1;
  {
    std::shared_lock lk(segments_mu_);
    for (const auto& [b, s] : segments_) max_ts = std::max(max_ts, s->max_timestamp());
  }
  if (max_ts < 0) return std::nullopt;
  return record_for_timestamp(max_ts);
}

PartitionLog::FlushStats PartitionLog::flush_stats() const { return flusher_.stats(); }

std::uint64_t PartitionLog::size_bytes() const {
  std::shared_lock lk(segments_mu_);
  std::uint64_t total = 0;
  for (const auto& [b, s] : segments_) total += s->committed().size;
  return total;
}

std::size_t PartitionLog::segment_count() const {
  std::shared_lock lk(segments_mu_);
  return segments_.size();
}

std::vector<std::int64_t> PartitionLog::segment_base_offsets() const {
  std::shared_lock lk(segments_mu_);
  std::vector<std::int64_t> v;
  for (const auto& [b, s] : segments_) v.push_back(b);
  return v;
}

LogResult<RetentionResult> PartitionLog::enforce_retention(std::optional<std::int64_t> now_opt) {
  std::unique_lock lk(append_mu_);
  if (closed_) return log_fail(LogErrc::closed, "log is closed");
  const std::int64_t now = now_opt.value_or(now_ms());
  // Kafka (LogConfig::retention_rolls_expired_active): an active segment
  // whose newest record is past retention.ms is rolled first, so that it can
  // go like any other (the log is then empty, log start == log end, and the
  // next append lands in the new segment).
  if (config_.retention_rolls_expired_active && config_.retention_ms >= 0) {
    const LogSegment& act = *segments_.rbegin()->second;
    if (act.committed().size > 0 && act.max_timestamp() >= 0 && act.max_timestamp() < now - config_.retention_ms) {
      if (auto r = roll_locked(); !r) return std::unexpected(r.error());
    }
  }
  std::uint64_t total = 0;
  for (const auto& [b, s] : segments_) total += s->committed().size;
  std::vector<std::shared_ptr<LogSegment>> doomed;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    const LogSegment& s = *it->second;
    const std::uint64_t sz = s.committed().size;
    const bool by_size = config_.retention_bytes >= 0 &&
                         total - sz >= static_cast<std::uint64_t>(config_.retention_bytes);
    const bool by_time = config_.retention_ms >= 0 && s.max_timestamp() >= 0 &&
                         s.max_timestamp() < now - config_.retention_ms;
    if (!by_size && !by_time) break;
    total -= sz;
    doomed.push_back(it->second);
  }
  RetentionResult res;
  if (!doomed.empty()) {
    std::unique_lock wl(segments_mu_);
    for (const auto& s : doomed) segments_.erase(s->base_offset());
    log_start_.store(segments_.begin()->first, std::memory_order_release);
  }
  for (const auto& s : doomed) {
    res.bytes_deleted += s->committed().size;
    s->retire_files();
  }
  res.segments_deleted = doomed.size();
  res.log_start_offset = log_start_.load(std::memory_order_relaxed);
  // Unlinking, and the last close of a segment no reader holds (which frees
  // its blocks), happen after the append lock is released: appends to this
  // partition do not wait for the filesystem to free a segment.
  lk.unlock();
  for (auto& s : doomed) {
    s->delete_retired_files();
    spdlog::info("log {}: retention deleted segment {} ({} bytes)", dir_.string(), s->base_offset(),
                 s->committed().size);
    s.reset();
  }
  return res;
}

// --- flushing ---------------------------------------------------------------

LogResult<void> PartitionLog::sync_range(std::int64_t from, std::int64_t target) {
  std::vector<std::shared_ptr<LogSegment>> segs;
  {
    std::shared_lock lk(segments_mu_);
    auto it = segments_.upper_bound(from);
    if (it != segments_.begin()) --it;
    for (; it != segments_.end() && it->first < target; ++it) segs.push_back(it->second);
  }
  for (const auto& s : segs) {
    if (auto r = s->sync(); !r) return r;
  }
  // A segment's directory entry must be durable too (new segments since the last dir fsync).
  if (!segs.empty()) {
    std::lock_guard ck(checkpoint_mu_);
    if (segs.back()->base_offset() > dir_synced_base_) {
      fsync_dir();
      dir_synced_base_ = segs.back()->base_offset();
    }
  }
  return {};
}

void PartitionLog::flushed_to(std::int64_t flushed) {
  // Move the recovery point once a flush covers a whole older segment.
  std::shared_ptr<LogSegment> seg = segment_for(flushed > 0 ? flushed - 1 : 0);
  bool move = false;
  {
    std::lock_guard ck(checkpoint_mu_);
    move = seg && seg->base_offset() > checkpointed_;
  }
  if (move) {
    if (auto r = write_recovery_point(flushed); !r) {
      spdlog::warn("log {}: cannot write the recovery point: {}", dir_.string(), r.error().message);
    }
  }
}

void PartitionLog::run_flush_work() noexcept {
  schedule_age(age_roll_.check());
  if (!flusher_.run()) return;  // stopped
  std::shared_ptr<LogSegment> seg;
  {
    std::lock_guard pl(prefault_mu_);
    seg = to_prefault_;
  }
  if (!seg) return;
  const bool more = seg->prefault(kPrefaultChunkBytes);
  std::lock_guard pl(prefault_mu_);
  if (to_prefault_ != seg) return;
  if (!more) {
    to_prefault_.reset();
  } else {
    flusher_.schedule();  // the rest after the other ready logs
  }
}

LogResult<void> PartitionLog::flush() {
  const std::int64_t end = log_end_.load(std::memory_order_acquire);
  if (end == 0 || flusher_.flushed() >= end) return {};
  return wait_flushed(end - 1);
}

LogResult<void> PartitionLog::wait_flushed(std::int64_t offset) { return flusher_.wait_flushed(offset); }

void PartitionLog::request_flush_notification(std::int64_t offset, FlushCallback cb) {
  flusher_.request_notification(offset, std::move(cb));
}

}  // namespace nocopy::log
