#include "log/log_cleaner.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/clock.h"
#include "io/file.h"
#include "io/mapping.h"
#include "io/mapping_read_guard.h"
#include "log/cleaner_filter.h"
#include "log/cleaner_swap.h"
#include "log/offset_map.h"
#include "log/record_batch.h"

namespace nocopy::log {

namespace {

// A compressed batch decompresses to at most this (a larger one fails the
// clean: a decompression bomb stops here).
constexpr std::size_t kMaxDecompressed = 64u << 20;

}  // namespace

// One clean() call: the map over the dirty section, then the rewrite of the
// segments below its end, in groups.
class CleanerRun {
 public:
  CleanerRun(PartitionLog& log, const CleanerConfig& cfg)
      : log_(log),
        cfg_(cfg),
        now_(cfg.clock ? cfg.clock() : io::wall_clock_ms()),
        started_(std::chrono::steady_clock::now()),
        map_(cfg.offset_map_bytes),
        aborted_(cfg.aborted) {}

  LogResult<CleanStats> run();

 private:
  struct Mapped {
    std::shared_ptr<const LogSegment> seg;
    std::shared_ptr<const io::Mapping> map;  // null when empty
    std::span<const std::byte> bytes() const {
      return map ? std::span<const std::byte>(map->data(), map->size()) : std::span<const std::byte>{};
    }
  };
  LogResult<Mapped> map_segment(std::shared_ptr<const LogSegment> seg);
  // Calls f(header, batch bytes) -> LogResult<bool> for each batch of `m`;
  // f returning false stops the walk.
  template <class F>
  LogResult<void> for_each_batch(const Mapped& m, F&& f);
  LogResult<void> build_map(const std::vector<Mapped>& segs);
  LogResult<void> rewrite(const std::vector<Mapped>& segs);
  LogResult<void> write_group(const std::vector<const Mapped*>& group);
  void throttle(std::uint64_t bytes);

  PartitionLog& log_;
  const CleanerConfig& cfg_;
  const std::int64_t now_;
  const std::chrono::steady_clock::time_point started_;
  OffsetMap map_;
  const AbortedRanges aborted_;
  // One past the last offset the map covers: what the rewrite cleans below.
  std::int64_t end_ = -1;
  std::unordered_map<std::int64_t, std::int64_t> producer_last_;  // producerId -> base offset of its last batch
  std::vector<std::byte> out_;      // the pending group's output
  std::vector<std::byte> seg_out_;  // one segment's output
  std::uint64_t throttled_bytes_ = 0;
  CleanStats stats_;
};

LogResult<CleanerRun::Mapped> CleanerRun::map_segment(std::shared_ptr<const LogSegment> seg) {
  Mapped m{std::move(seg), nullptr};
  const std::uint64_t size = m.seg->committed().size;
  if (size == 0) return m;
  auto r = io::Mapping::map(m.seg->file()->fd(), 0, static_cast<std::size_t>(size));
  if (!r) {
    return log_fail(LogErrc::storage_error,
                    fmt::format("cleaner: cannot map segment {}: {}", m.seg->base_offset(), r.error().message()),
                    r.error().err);
  }
  m.map = std::move(*r);
  return m;
}

template <class F>
LogResult<void> CleanerRun::for_each_batch(const Mapped& m, F&& f) {
  std::span<const std::byte> all = m.bytes();
  if (all.empty()) return {};
  // A segment truncated under the mapping (by something outside the log)
  // reads as zeros past its new end instead of killing the process; the
  // clean then fails (the group in progress is dropped).
  io::MappingReadGuard guard(*m.map);
  auto truncated = [&](std::size_t pos) {
    return log_fail(LogErrc::storage_error,
                    fmt::format("cleaner: segment {} was truncated under the cleaner (read at position {} of {} "
                                "bytes hit the file's end); clean abandoned",
                                m.seg->base_offset(), pos, all.size()));
  };
  std::size_t pos = 0;
  while (pos < all.size()) {
    if (cfg_.cancelled && cfg_.cancelled()) return log_fail(LogErrc::closed, "cleaner: cancelled");
    auto h = validate_batch(all.subspan(pos), /*check_crc=*/false, {}, UINT64_MAX, /*exact_count=*/false);
    if (guard.faulted()) return truncated(pos);
    if (!h) {
      return log_fail(LogErrc::corrupt_message, fmt::format("cleaner: segment {} position {}: {}",
                                                            m.seg->base_offset(), pos, h.error().message));
    }
    auto go_on = f(*h, all.subspan(pos, h->total_size()));
    if (guard.faulted()) return truncated(pos);
    if (!go_on) return std::unexpected(go_on.error());
    stats_.bytes_read += h->total_size();
    LogCleaner::mapped_bytes_read_.fetch_add(h->total_size(), std::memory_order_relaxed);
    throttle(h->total_size());
    if (!*go_on) break;
    pos += h->total_size();
  }
  return {};
}

void CleanerRun::throttle(std::uint64_t bytes) {
  if (cfg_.io_max_bytes_per_second <= 0) return;
  throttled_bytes_ += bytes;
  const double due_s = static_cast<double>(throttled_bytes_) / cfg_.io_max_bytes_per_second;
  const auto due = started_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(due_s));
  if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
}

// The map over the records at or after cfg_.first_dirty_offset, batch by
// batch, until a batch's keys might not fit (end_ is then that batch's base
// offset) or the cleanable segments end. The producers' last batches are
// taken from every cleanable segment's headers.
LogResult<void> CleanerRun::build_map(const std::vector<Mapped>& segs) {
  std::vector<RecordView> recs;
  std::vector<std::byte> plain;
  bool full = false;
  for (const Mapped& m : segs) {
    const bool dirty = m.seg->committed().next_offset > cfg_.first_dirty_offset;
    auto r = for_each_batch(m, [&](const BatchHeader& h, std::span<const std::byte> batch) -> LogResult<bool> {
      if (h.producer_id >= 0) producer_last_[h.producer_id] = h.base_offset;
      if (!dirty || full || h.last_offset() < cfg_.first_dirty_offset) return true;
      if (h.is_control()) return true;
      // Aborted records never supersede anything.
      if (h.is_transactional() && aborted_.contains(h.producer_id, h.base_offset)) return true;
      auto records = records_section(h, batch, plain, kMaxDecompressed);
      if (!records) return std::unexpected(records.error());
      if (!split_records(*records, h.records_count, recs)) {
        return log_fail(LogErrc::corrupt_message,
                        fmt::format("cleaner: malformed records in the batch at offset {}", h.base_offset));
      }
      std::uint64_t key_bytes = 0;
      for (const RecordView& rv : recs) key_bytes += rv.key.size();
      // At least one batch always enters, so every clean makes progress.
      if (map_.size() > 0 && !map_.fits(recs.size(), key_bytes)) {
        full = true;
        end_ = h.base_offset;
        return true;
      }
      for (const RecordView& rv : recs) {
        if (rv.has_key) map_.put(rv.key, h.base_offset + rv.offset_delta);
      }
      return true;
    });
    if (!r) return r;
  }
  if (!full) end_ = segs.back().seg->committed().next_offset;
  stats_.keys = map_.size();
  stats_.map_full = full;
  return {};
}

LogResult<void> CleanerRun::write_group(const std::vector<const Mapped*>& group) {
  const std::filesystem::path& dir = log_.dir();
  const std::int64_t base = group.front()->seg->base_offset();
  // [first base, last base + 1) holds exactly the group's segments.
  const std::int64_t end = group.back()->seg->base_offset() + 1;
  try {
    io::File f = io::File::open(cleaner_swap::cleaned_log(dir, base), io::File::Mode::truncate_rw);
    if (auto w = f.pwrite_full(out_, 0); !w) {
      return log_fail(LogErrc::storage_error, fmt::format("cleaner: {}", w.error().message()), w.error().err);
    }
    if (auto s = f.fdatasync(); !s) {
      return log_fail(LogErrc::storage_error, fmt::format("cleaner: {}", s.error().message()), s.error().err);
    }
    cleaner_swap::write_cleaned_end(dir, base, end);
  } catch (const std::system_error& e) {
    cleaner_swap::remove_cleaned(dir);
    return log_fail(LogErrc::storage_error, fmt::format("cleaner: {}", e.what()), e.code().value());
  }
  if (cfg_.hook) cfg_.hook("cleaned_written");
  std::vector<std::int64_t> bases;
  for (const Mapped* m : group) bases.push_back(m->seg->base_offset());
  if (auto s = log_.swap_cleaned(base, end, bases, cfg_.hook); !s) return s;
  stats_.segments_cleaned += group.size();
  ++stats_.segments_written;
  stats_.bytes_written += out_.size();
  return {};
}

// Filters each segment below end_ on its own: a segment that keeps all it
// holds stays as it is; consecutive segments that changed are rewritten
// together while their output fits in one segment (segment.bytes,
// max_group_bytes) and their offsets in one index (relative offsets are
// 32-bit).
LogResult<void> CleanerRun::rewrite(const std::vector<Mapped>& segs) {
  BatchFilter filter({&map_, &aborted_, end_, now_ - cfg_.delete_retention_ms, kMaxDecompressed});
  const std::uint64_t group_limit = std::min(cfg_.max_group_bytes, log_.segment_bytes());
  std::vector<const Mapped*> group;
  out_.clear();
  auto flush = [&]() -> LogResult<void> {
    if (group.empty()) return {};
    auto r = write_group(group);
    group.clear();
    out_.clear();
    return r;
  };
  for (const Mapped& m : segs) {
    if (m.seg->base_offset() >= end_) break;
    seg_out_.clear();
    bool changed = false;
    auto r = for_each_batch(m, [&](const BatchHeader& h, std::span<const std::byte> b) -> LogResult<bool> {
      const bool last = h.producer_id >= 0 && producer_last_[h.producer_id] == h.base_offset;
      auto c = filter.filter(h, b, last, seg_out_);
      if (!c) return std::unexpected(c.error());
      changed |= *c;
      return true;
    });
    if (!r) return r;
    if (!changed) {
      ++stats_.segments_unchanged;
      if (auto f = flush(); !f) return f;
      continue;
    }
    const bool fits = out_.size() + seg_out_.size() <= group_limit &&
                      (group.empty() || m.seg->committed().next_offset - group.front()->seg->base_offset() <
                                            std::numeric_limits<std::int32_t>::max());
    if (!fits) {
      if (auto f = flush(); !f) return f;
    }
    out_.insert(out_.end(), seg_out_.begin(), seg_out_.end());
    group.push_back(&m);
  }
  if (auto f = flush(); !f) return f;
  const FilterCounts& c = filter.counts();
  stats_.records_read = c.records_read;
  stats_.records_kept = c.records_kept;
  stats_.tombstones_dropped = c.tombstones_dropped;
  stats_.batches_kept_whole = c.batches_kept_whole;
  stats_.empty_batches_kept = c.empty_batches_kept;
  stats_.batches_recompressed = c.batches_recompressed;
  stats_.aborted_records_dropped = c.aborted_records_dropped;
  stats_.markers_dropped = c.markers_dropped;
  return {};
}

LogResult<CleanStats> CleanerRun::run() {
  std::vector<Mapped> segs;
  bool dirty = false;
  for (const auto& s : log_.sealed_segments()) {
    if (cfg_.min_compaction_lag_ms > 0 && s->max_timestamp() > now_ - cfg_.min_compaction_lag_ms) break;
    if (s->committed().next_offset > cfg_.upper_offset) break;  // an ongoing transaction's records
    auto m = map_segment(s);
    if (!m) return std::unexpected(m.error());
    dirty |= s->committed().next_offset > cfg_.first_dirty_offset;
    segs.push_back(std::move(*m));
  }
  if (!dirty) return stats_;
  if (auto r = build_map(segs); !r) return std::unexpected(r.error());
  if (auto r = rewrite(segs); !r) return std::unexpected(r.error());
  stats_.cleaned_end = end_;
  return stats_;
}

std::optional<std::int64_t> LogCleaner::first_timestamp(const LogSegment& seg) {
  if (seg.committed().size < kBatchHeaderSize) return std::nullopt;
  std::array<std::byte, kBatchHeaderSize> buf{};
  auto r = seg.file()->pread_full(buf, 0);
  if (!r || *r != buf.size()) return std::nullopt;
  const BatchHeader h = parse_batch_header(buf);
  if (h.magic != kMagicV2) return std::nullopt;
  return h.log_append_time() ? h.max_timestamp : h.base_timestamp;
}

LogResult<CleanStats> LogCleaner::clean(PartitionLog& log, const CleanerConfig& config) {
  CleanerRun run(log, config);
  return run.run();
}

}  // namespace nocopy::log
