// PartitionLog's replication side: the high watermark, a follower's appends
// with the leader's offsets, truncation of a divergent tail, the
// leader-epoch cache.
#include <algorithm>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/file_copier.h"
#include "log/checkpoint_file.h"
#include "log/partition_log.h"
#include "log/record_batch.h"

namespace nocopy::log {

namespace {
// A segment rewritten by truncate_to: written as <base>.log.truncated.tmp,
// renamed to <base>.log.truncated once complete and synced, then over
// <base>.log after the old files were retired.
constexpr const char* kTruncatedSuffix = ".truncated";
}  // namespace

std::int64_t PartitionLog::set_high_watermark(std::int64_t hw) {
  const std::int64_t start = log_start_.load(std::memory_order_acquire);
  const std::int64_t end = log_end_.load(std::memory_order_acquire);
  hw = std::clamp(hw, start, std::max(start, end));
  high_watermark_.store(hw, std::memory_order_release);
  return hw;
}

void PartitionLog::finish_truncations() {
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(std::string(".log") + kTruncatedSuffix)) continue;
    // Complete (renamed from .tmp only after its sync): it replaces the segment.
    const std::string log_name = name.substr(0, name.size() - std::string(kTruncatedSuffix).size());
    const std::string stem = log_name.substr(0, log_name.size() - 4);
    std::error_code ec;
    for (const char* suffix : {".index", ".timeindex"}) std::filesystem::remove(dir_ / (stem + suffix), ec);
    std::filesystem::rename(e.path(), dir_ / log_name, ec);
    if (ec) throw std::system_error(ec, "rename " + e.path().string());
    note(spdlog::level::info, fmt::format("finished the truncation of segment {}", stem));
  }
}

LogResult<void> PartitionLog::validate_replicated(std::span<std::byte> batches, std::vector<AppendedBatch>& infos,
                                                  std::int64_t log_end) const {
  infos.clear();
  if (batches.empty()) return log_fail(LogErrc::invalid_record, "empty append request");
  std::uint64_t pos = 0;
  std::int64_t next = log_end;
  const std::uint64_t max_size = max_message_bytes_.load(std::memory_order_relaxed);
  while (pos < batches.size()) {
    // Batches as they lie in the leader's log: a compacted one keeps its
    // offsets with fewer records, down to none.
    auto h = validate_batch(std::span<const std::byte>(batches).subspan(pos), true, {}, max_size,
                            /*exact_count=*/false);
    if (!h) {
      LogError e = h.error();
      e.message = fmt::format("replicated batch {} at byte {}: {}", infos.size(), pos, e.message);
      return std::unexpected(std::move(e));
    }
    if (h->base_offset < next) {
      return log_fail(LogErrc::invalid_record,
                      fmt::format("replicated batch {} at byte {}: baseOffset {} is below the next offset {}",
                                  infos.size(), pos, h->base_offset, next));
    }
    infos.push_back(AppendedBatch{h->base_offset, h->last_offset(), h->max_timestamp, h->total_size()});
    next = h->last_offset() + 1;
    pos += h->total_size();
  }
  return {};
}

void PartitionLog::record_epochs(std::span<const std::byte> batches) {
  std::uint64_t pos = 0;
  while (pos + kBatchHeaderSize <= batches.size()) {
    const BatchHeader h = parse_batch_header(batches.subspan(pos));
    const auto latest = epochs_->latest();
    if (h.partition_leader_epoch >= 0 && (!latest || h.partition_leader_epoch > latest->epoch)) {
      if (auto r = epochs_->assign(h.partition_leader_epoch, h.base_offset); !r) {
        spdlog::warn("log {}: leader-epoch checkpoint: {}", dir_.string(), r.error().message);
      }
    }
    pos += h.total_size();
  }
}

LogResult<AppendInfo> PartitionLog::append_replicated(std::span<std::byte> batches) {
  std::vector<AppendedBatch> infos;
  std::unique_lock lk(append_mu_);
  const std::int64_t end = log_end_.load(std::memory_order_relaxed);
  // Validated under the lock: the offsets are checked against the log end.
  if (auto v = validate_replicated(batches, infos, end); !v) return std::unexpected(std::move(v.error()));
  const std::int64_t last = infos.back().last_offset;
  std::int64_t now = -1;
  // The span of offsets (not the record count) must fit the segment's int32
  // relative offsets.
  auto seg = segment_to_append_outlined(batches.size(), last + 1 - end, now);
  if (!seg) return std::unexpected(std::move(seg.error()));
  const bool first_append = (*seg)->first_append_ms() < 0;
  if (auto r = (*seg)->append(batches, infos, now); !r) {
    spdlog::warn("log {}: {}", dir_.string(), r.error().message);
    return std::unexpected(r.error());
  }
  if (first_append) schedule_age(age_roll_.arm((*seg)->base_offset()));
  log_end_.store(last + 1, std::memory_order_release);
  record_epochs(batches);
  AppendInfo info;
  info.base_offset = infos.front().base_offset;
  info.last_offset = last;
  for (const AppendedBatch& b : infos) info.max_timestamp = std::max(info.max_timestamp, b.max_timestamp);
  info.log_start_offset = log_start_.load(std::memory_order_relaxed);
  info.batches = static_cast<std::uint32_t>(infos.size());
  info.bytes = batches.size();
  std::int64_t records = 0;
  for (const AppendedBatch& b : infos) records += b.last_offset - b.base_offset + 1;
  if (auto r = sync_appended_outlined(**seg, last + 1, records); !r) return std::unexpected(r.error());
  (*seg)->drop_behind(config_.replica_drop_behind_bytes);
  return info;
}

// Writes the first `keep` bytes of `seg` as a new segment file and puts it in
// the old one's place (the old files are retired, their inodes stay with
// whoever holds them). Returns the new segment, opened and recovered (its
// indexes rebuilt), not yet active.
LogResult<std::shared_ptr<LogSegment>> PartitionLog::rewrite_prefix(const LogSegment& seg, std::uint64_t keep) {
  const std::int64_t base = seg.base_offset();
  const std::filesystem::path log_path = dir_ / LogSegment::file_name(base, ".log");
  const std::filesystem::path done = log_path.string() + kTruncatedSuffix;
  const std::filesystem::path tmp = done.string() + ".tmp";
  try {
    {
      io::File out = io::File::open(tmp, io::File::Mode::truncate_rw);
      io::FileCopier copier(io::Strategy::copy_file_range);
      if (auto r = copier.copy(seg.file()->fd(), 0, out.fd(), 0, keep); !r) {
        std::filesystem::remove(tmp);
        return log_fail(LogErrc::storage_error, "copying the kept prefix: " + r.error().message(), r.error().err);
      }
      if (auto r = out.fdatasync(); !r) {
        std::filesystem::remove(tmp);
        return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
      }
    }
    std::filesystem::rename(tmp, done);
    fsync_dir();
    // From here a crash is finished by open() (finish_truncations).
    for (const char* suffix : {".index", ".timeindex"}) {
      std::filesystem::remove(dir_ / LogSegment::file_name(base, suffix));
    }
    std::filesystem::rename(done, log_path);
    fsync_dir();
    ScanOutcome out;
    std::shared_ptr<LogSegment> fresh = LogSegment::open(dir_, base, segment_options(), false, &out);
    if (out.dropped_bytes > 0) {
      note(spdlog::level::err, fmt::format("segment {}: the truncated copy failed validation at byte {}",
                                           base, out.valid_bytes));
    }
    return fresh;
  } catch (const std::system_error& e) {
    return std::unexpected(LogError{LogErrc::storage_error, e.code().value(), e.what()});
  }
}

void PartitionLog::after_truncation(std::int64_t new_end, std::int64_t new_start) {
  log_start_.store(new_start, std::memory_order_release);
  log_end_.store(new_end, std::memory_order_release);
  const std::int64_t hw = high_watermark_.load(std::memory_order_acquire);
  if (hw >= 0) high_watermark_.store(std::clamp(hw, new_start, new_end), std::memory_order_release);
  flusher_.truncated(new_end);
  {
    std::lock_guard pl(prefault_mu_);
    to_prefault_.reset();
  }
  {
    std::lock_guard ck(checkpoint_mu_);
    dir_synced_base_ = segments_.rbegin()->first;
  }
  for (auto r : {epochs_->truncate_from_end(new_end), epochs_->truncate_from_start(new_start)}) {
    if (!r) spdlog::warn("log {}: leader-epoch checkpoint: {}", dir_.string(), r.error().message);
  }
}

LogResult<std::int64_t> PartitionLog::truncate_to(std::int64_t offset) {
  std::unique_lock lk(append_mu_);
  if (closed_) return log_fail(LogErrc::closed, "log is closed");
  const std::int64_t end = log_end_.load(std::memory_order_relaxed);
  if (offset >= end) return end;
  const std::int64_t start = log_start_.load(std::memory_order_relaxed);
  if (offset < start) {
    lk.unlock();
    if (auto r = truncate_fully_and_start_at(offset); !r) return std::unexpected(r.error());
    return offset;
  }
  // Recovery after a crash in the middle must rescan from the new end.
  {
    std::int64_t rp;
    {
      std::lock_guard ck(checkpoint_mu_);
      rp = checkpointed_;
    }
    if (rp > offset) {
      if (auto r = write_recovery_point(offset); !r) return std::unexpected(r.error());
    }
  }
  std::shared_ptr<LogSegment> seg = segment_for(offset);
  std::optional<BatchLocation> loc = seg->find(offset);
  // Everything after `seg` goes; `seg` keeps the bytes before the batch that holds `offset`.
  std::vector<std::shared_ptr<LogSegment>> doomed;
  {
    std::shared_lock sl(segments_mu_);
    for (auto it = segments_.upper_bound(seg->base_offset()); it != segments_.end(); ++it) doomed.push_back(it->second);
  }
  const Committed c = seg->committed();
  const std::uint64_t keep = loc ? loc->position : c.size;
  std::int64_t new_end = loc ? loc->base_offset : c.next_offset;
  std::shared_ptr<LogSegment> replacement;
  if (keep < c.size || !doomed.empty() || seg.get() != active_seg_) {
    // Later segments first: a crash from here leaves `seg` whole or cut,
    // never later segments without the bytes before them.
    for (const auto& d : doomed) d->retire_files();
    if (keep == 0) {
      new_end = seg->base_offset();
      seg->retire_files();
      doomed.push_back(seg);
      try {
        replacement = LogSegment::create(dir_, new_end, segment_options());
      } catch (const std::system_error& e) {
        return std::unexpected(LogError{LogErrc::storage_error, e.code().value(), e.what()});
      }
    } else if (keep < c.size) {
      auto r = rewrite_prefix(*seg, keep);
      if (!r) return std::unexpected(r.error());
      replacement = std::move(*r);
      try {
        replacement->make_active();
      } catch (const std::system_error& e) {
        return std::unexpected(LogError{LogErrc::storage_error, e.code().value(), e.what()});
      }
    } else {
      // `seg` ends exactly at the cut: it is reopened to take appends again.
      try {
        ScanOutcome out;
        replacement = LogSegment::open(dir_, seg->base_offset(), segment_options(), true, &out);
        replacement->make_active();
      } catch (const std::system_error& e) {
        return std::unexpected(LogError{LogErrc::storage_error, e.code().value(), e.what()});
      }
    }
  }
  if (replacement) {
    std::unique_lock wl(segments_mu_);
    for (const auto& d : doomed) segments_.erase(d->base_offset());
    segments_[replacement->base_offset()] = replacement;
    active_seg_ = replacement.get();
  }
  after_truncation(new_end, start);
  lk.unlock();
  for (auto& d : doomed) d->delete_retired_files();
  spdlog::info("log {}: truncated to offset {} (asked {}), {} segment(s) removed", dir_.string(), new_end, offset,
               doomed.size());
  return new_end;
}

LogResult<void> PartitionLog::truncate_fully_and_start_at(std::int64_t offset) {
  std::unique_lock lk(append_mu_);
  if (closed_) return log_fail(LogErrc::closed, "log is closed");
  if (offset < 0) return log_fail(LogErrc::offset_out_of_range, "negative start offset");
  std::vector<std::shared_ptr<LogSegment>> doomed;
  {
    std::shared_lock sl(segments_mu_);
    for (const auto& [b, s] : segments_) doomed.push_back(s);
  }
  if (auto r = write_recovery_point(offset); !r) return std::unexpected(r.error());
  for (const auto& d : doomed) d->retire_files();
  std::shared_ptr<LogSegment> fresh;
  try {
    fresh = LogSegment::create(dir_, offset, segment_options());
  } catch (const std::system_error& e) {
    return std::unexpected(LogError{LogErrc::storage_error, e.code().value(), e.what()});
  }
  {
    std::unique_lock wl(segments_mu_);
    segments_.clear();
    segments_[offset] = fresh;
    active_seg_ = fresh.get();
  }
  after_truncation(offset, offset);
  if (auto r = epochs_->clear(); !r) spdlog::warn("log {}: leader-epoch checkpoint: {}", dir_.string(), r.error().message);
  lk.unlock();
  for (auto& d : doomed) d->delete_retired_files();
  spdlog::info("log {}: emptied, starts at offset {}", dir_.string(), offset);
  return {};
}

}  // namespace nocopy::log
