#include "log/log_cleaner.h"

#include <algorithm>
#include <chrono>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/file.h"
#include "io/mapping.h"
#include "log/cleaner_swap.h"
#include "log/offset_map.h"
#include "log/record_batch.h"

namespace nocopy::log {

namespace {

// One record of an uncompressed batch: where its bytes are (length varint
// included) and what the cleaner decides on.
struct RecordView {
  std::span<const std::byte> bytes;
  std::int32_t offset_delta = 0;
  std::int64_t timestamp_delta = 0;
  bool has_key = false;
  std::string_view key;
  bool tombstone = false;
};

// Splits the records section of an uncompressed batch; false when malformed.
bool split_records(std::span<const std::byte> batch, const BatchHeader& h, std::vector<RecordView>& out) {
  out.clear();
  std::span<const std::byte> in = batch.subspan(kBatchHeaderSize, h.total_size() - kBatchHeaderSize);
  std::size_t pos = 0;
  for (std::int32_t i = 0; i < h.records_count; ++i) {
    const std::size_t start = pos;
    auto len = read_varlong(in, pos);
    if (!len || *len < 0 || static_cast<std::uint64_t>(*len) > in.size() - pos) return false;
    const std::size_t end = pos + static_cast<std::size_t>(*len);
    std::span<const std::byte> body = in.subspan(0, end);
    RecordView r;
    r.bytes = in.subspan(start, end - start);
    std::size_t p = pos + 1;  // attributes
    auto ts = read_varlong(body, p);
    auto od = read_varlong(body, p);
    auto kl = read_varlong(body, p);
    if (!ts || !od || !kl || p > end) return false;
    r.timestamp_delta = *ts;
    r.offset_delta = static_cast<std::int32_t>(*od);
    if (*kl >= 0) {
      if (static_cast<std::uint64_t>(*kl) > end - p) return false;
      r.has_key = true;
      r.key = std::string_view(reinterpret_cast<const char*>(body.data() + p), static_cast<std::size_t>(*kl));
      p += static_cast<std::size_t>(*kl);
    }
    auto vl = read_varlong(body, p);
    if (!vl) return false;
    r.tombstone = *vl < 0;
    out.push_back(r);
    pos = end;
  }
  return true;
}

std::int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

// One clean() call: the map, the groups and their rewriting.
class CleanerRun {
 public:
  CleanerRun(PartitionLog& log, const CleanerConfig& cfg)
      : log_(log), cfg_(cfg), now_(cfg.clock ? cfg.clock() : system_ms()), started_(std::chrono::steady_clock::now()) {}

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
  // Calls f(header, batch bytes) for each batch of `m`.
  template <class F>
  LogResult<void> for_each_batch(const Mapped& m, F&& f);
  LogResult<void> build_map(const std::vector<Mapped>& segs);
  LogResult<void> clean_group(const std::vector<Mapped>& group, std::int64_t end);
  // Appends the retained part of `batch` to out_ (or nothing).
  void filter_batch(const BatchHeader& h, std::span<const std::byte> batch);
  void throttle(std::uint64_t bytes);

  PartitionLog& log_;
  const CleanerConfig& cfg_;
  const std::int64_t now_;
  const std::chrono::steady_clock::time_point started_;
  OffsetMap map_;
  std::unordered_map<std::int64_t, std::int64_t> producer_last_;  // producerId -> base offset of its last batch
  std::vector<std::byte> out_;
  std::vector<RecordView> recs_;
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
  std::size_t pos = 0;
  while (pos < all.size()) {
    if (cfg_.cancelled && cfg_.cancelled()) return log_fail(LogErrc::closed, "cleaner: cancelled");
    auto h = validate_batch(all.subspan(pos), /*check_crc=*/false, {}, UINT64_MAX, /*exact_count=*/false);
    if (!h) {
      return log_fail(LogErrc::corrupt_message, fmt::format("cleaner: segment {} position {}: {}",
                                                            m.seg->base_offset(), pos, h.error().message));
    }
    f(*h, all.subspan(pos, h->total_size()));
    pos += h->total_size();
    throttle(h->total_size());
  }
  stats_.bytes_read += all.size();
  LogCleaner::mapped_bytes_read_.fetch_add(all.size(), std::memory_order_relaxed);
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

LogResult<void> CleanerRun::build_map(const std::vector<Mapped>& segs) {
  for (const Mapped& m : segs) {
    LogResult<void> bad;
    auto r = for_each_batch(m, [&](const BatchHeader& h, std::span<const std::byte> batch) {
      if (h.producer_id >= 0) producer_last_[h.producer_id] = h.base_offset;
      if (h.compression() != 0 || h.is_control()) return;
      if (!split_records(batch, h, recs_)) {
        bad = log_fail(LogErrc::corrupt_message,
                       fmt::format("cleaner: malformed records in the batch at offset {}", h.base_offset));
        return;
      }
      for (const RecordView& r : recs_) {
        if (r.has_key) map_.put(r.key, h.base_offset + r.offset_delta);
      }
    });
    if (!r) return r;
    if (!bad) return bad;
  }
  stats_.keys = map_.size();
  return {};
}

void CleanerRun::filter_batch(const BatchHeader& h, std::span<const std::byte> batch) {
  const bool whole = h.compression() != 0 || h.is_control() ||
                     (h.producer_id >= 0 && producer_last_[h.producer_id] == h.base_offset);
  if (whole || !split_records(batch, h, recs_)) {
    out_.insert(out_.end(), batch.begin(), batch.end());
    stats_.records_read += static_cast<std::uint64_t>(h.records_count);
    stats_.records_kept += static_cast<std::uint64_t>(h.records_count);
    ++stats_.batches_kept_whole;
    return;
  }
  const std::size_t start = out_.size();
  out_.insert(out_.end(), batch.begin(), batch.begin() + kBatchHeaderSize);
  std::int32_t kept = 0, last_delta = 0;
  std::int64_t max_ts = -1;
  for (const RecordView& r : recs_) {
    ++stats_.records_read;
    const std::int64_t offset = h.base_offset + r.offset_delta;
    const std::int64_t ts = h.log_append_time() ? h.max_timestamp : h.base_timestamp + r.timestamp_delta;
    if (r.has_key) {
      auto latest = map_.get(r.key);
      if (latest && *latest != offset) continue;
      if (r.tombstone && ts < now_ - cfg_.delete_retention_ms) {
        ++stats_.tombstones_dropped;
        continue;
      }
    }
    out_.insert(out_.end(), r.bytes.begin(), r.bytes.end());
    ++kept;
    last_delta = r.offset_delta;
    max_ts = std::max(max_ts, ts);
  }
  stats_.records_kept += static_cast<std::uint64_t>(kept);
  if (kept == 0) {
    out_.resize(start);
    return;
  }
  if (kept == h.records_count) {  // nothing dropped: the original bytes as they were
    out_.resize(start);
    out_.insert(out_.end(), batch.begin(), batch.end());
    return;
  }
  std::byte* p = out_.data() + start;
  store_be32(p + kBatchLengthOffset, static_cast<std::int32_t>(out_.size() - start - kLogOverhead));
  store_be32(p + 23, last_delta);
  if (!h.log_append_time()) store_be64(p + 35, max_ts);
  store_be32(p + 57, kept);
  update_batch_crc(std::span<std::byte>(p, out_.size() - start));
}

LogResult<void> CleanerRun::clean_group(const std::vector<Mapped>& group, std::int64_t end) {
  const std::filesystem::path& dir = log_.dir();
  const std::int64_t base = group.front().seg->base_offset();
  out_.clear();
  for (const Mapped& m : group) {
    auto r = for_each_batch(m, [&](const BatchHeader& h, std::span<const std::byte> b) { filter_batch(h, b); });
    if (!r) return r;
  }
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
  for (const Mapped& m : group) bases.push_back(m.seg->base_offset());
  if (auto s = log_.swap_cleaned(base, end, bases, cfg_.hook); !s) return s;
  stats_.segments_cleaned += group.size();
  ++stats_.segments_written;
  stats_.bytes_written += out_.size();
  return {};
}

LogResult<CleanStats> CleanerRun::run() {
  std::vector<Mapped> segs;
  std::vector<std::shared_ptr<const LogSegment>> sealed = log_.sealed_segments();
  std::int64_t cleaned_end = -1;
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    const auto& s = sealed[i];
    cleaned_end = s->committed().next_offset;
    if (cfg_.min_compaction_lag_ms > 0 && s->max_timestamp() > now_ - cfg_.min_compaction_lag_ms) {
      cleaned_end = s->base_offset();
      break;
    }
    auto m = map_segment(s);
    if (!m) return std::unexpected(m.error());
    segs.push_back(std::move(*m));
  }
  if (segs.empty()) return stats_;
  if (auto r = build_map(segs); !r) return std::unexpected(r.error());
  // As Kafka: a group's input fits in one segment, so its output (and its
  // index) does too.
  const std::uint64_t group_limit = std::min(cfg_.max_group_bytes, log_.segment_bytes());
  std::size_t i = 0;
  while (i < segs.size()) {
    std::vector<Mapped> group{segs[i]};
    std::uint64_t bytes = segs[i].seg->committed().size;
    ++i;
    while (i < segs.size() && bytes + segs[i].seg->committed().size <= group_limit) {
      bytes += segs[i].seg->committed().size;
      group.push_back(segs[i]);
      ++i;
    }
    // [first base, last base + 1) holds exactly the group's segments.
    const std::int64_t end = group.back().seg->base_offset() + 1;
    if (auto r = clean_group(group, end); !r) return std::unexpected(r.error());
  }
  stats_.cleaned_end = cleaned_end;
  return stats_;
}

LogResult<CleanStats> LogCleaner::clean(PartitionLog& log, const CleanerConfig& config) {
  CleanerRun run(log, config);
  return run.run();
}

}  // namespace nocopy::log
