// PartitionLog's life cycle: open() finds the segments of a partition
// directory, removes the leftovers of interrupted swaps and cleans, and
// recovers what an unclean stop may have left half written (from the recovery
// point on); close() syncs, writes the recovery point and the clean-shutdown
// marker. The append/read path lives in partition_log.cc.
#include "log/partition_log.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "log/checkpoint_file.h"
#include "log/cleaner_swap.h"
#include "log/record_batch.h"

namespace nocopy::log {

namespace {

constexpr const char* kCleanShutdownFile = ".clean_shutdown";
constexpr const char* kRecoveryPointFile = "recovery-point-offset-checkpoint";

std::optional<std::int64_t> parse_segment_name(const std::string& name) {
  if (name.size() != 24 || !name.ends_with(".log")) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 20, v);
  if (ec != std::errc() || p != name.data() + 20 || v < 0) return std::nullopt;
  return v;
}

LogError storage_error_from(const std::system_error& e) {
  return LogError{LogErrc::storage_error, e.code().value(), e.what()};
}

}  // namespace

std::unique_ptr<PartitionLog> PartitionLog::open(const std::filesystem::path& dir, LogConfig config) {
  if (config.segment_bytes < 1024 || config.segment_bytes > std::numeric_limits<std::int32_t>::max()) {
    throw std::invalid_argument("segment_bytes must be in [1024, 2^31-1]");
  }
  if (config.index_interval_bytes == 0) throw std::invalid_argument("index_interval_bytes must be > 0");
  if (config.max_index_bytes < 64) throw std::invalid_argument("max_index_bytes must be >= 64");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "mkdir " + dir.string());
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, std::move(config)));
  log->load();
  log->flusher_.attach(log->config_.flush_scheduler ? log->config_.flush_scheduler : FlushScheduler::shared(),
                       log.get());
  // An unclean open may leave a validated but unsynced tail: the interval
  // policy syncs it like freshly appended data.
  if (log->flusher_.flushed() < log->log_end_.load(std::memory_order_relaxed)) log->flusher_.arm_interval_timer();
  return log;
}

std::vector<std::int64_t> PartitionLog::remove_leftovers() {
  for (std::string& m : cleaner_swap::finish_swaps(dir_)) {
    spdlog::info("log {}: {}", dir_.string(), m);
    report_.messages.push_back(std::move(m));
  }
  finish_truncations();
  std::vector<std::int64_t> bases;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (auto b = parse_segment_name(name)) {
      bases.push_back(*b);
    } else if (name.ends_with(".tmp") || name.ends_with(LogSegment::kDeletedSuffix)) {
      // A checkpoint never renamed, or a segment retention retired but did
      // not get to unlink before a crash.
      std::filesystem::remove(e.path());
    }
  }
  std::sort(bases.begin(), bases.end());
  // Index files without their .log are leftovers of a deletion: remove them.
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    for (const char* suffix : {".index", ".timeindex"}) {
      if (name.ends_with(suffix)) {
        std::string stem = name.substr(0, name.size() - std::string(suffix).size());
        if (!std::filesystem::exists(dir_ / (stem + ".log"))) std::filesystem::remove(e.path());
      }
    }
  }
  return bases;
}

std::int64_t PartitionLog::read_recovery_point() {
  std::int64_t rp = 0;
  if (std::ifstream in(dir_ / kRecoveryPointFile); in) {
    std::int64_t version = -1, count = -1, value = -1;
    if (in >> version >> count >> value && version == 0 && count == 1 && value >= 0) {
      rp = value;
    } else {
      spdlog::warn("log {}: unreadable {}; recovering from the start", dir_.string(), kRecoveryPointFile);
    }
  }
  return rp;
}

void PartitionLog::note(int level, std::string msg) {
  spdlog::log(static_cast<spdlog::level::level_enum>(level), "log {}: {}", dir_.string(), msg);
  report_.messages.push_back(std::move(msg));
}

void PartitionLog::load() {
  const std::vector<std::int64_t> bases = remove_leftovers();
  const bool clean = std::filesystem::exists(dir_ / kCleanShutdownFile);
  const std::int64_t rp = read_recovery_point();
  report_.clean_shutdown = clean;
  report_.recovery_point = rp;
  checkpointed_ = rp;
  recover_segments(bases, clean, rp);
  if (segments_.empty()) {
    segments_[0] = LogSegment::create(dir_, 0, segment_options());
  } else {
    segments_.rbegin()->second->make_active();
  }
  log_start_.store(segments_.begin()->first, std::memory_order_release);
  active_seg_ = segments_.rbegin()->second.get();
  const std::int64_t end = segments_.rbegin()->second->committed().next_offset;
  log_end_.store(end, std::memory_order_release);
  flusher_.start(clean ? end : std::min(rp, end));
  // The cache may name epochs of a tail recovery dropped, or of segments
  // retention deleted.
  epochs_ = std::make_unique<LeaderEpochCache>(dir_);
  for (auto r : {epochs_->truncate_from_end(end), epochs_->truncate_from_start(log_start_.load())}) {
    if (!r) spdlog::warn("log {}: leader-epoch checkpoint: {}", dir_.string(), r.error().message);
  }
  dir_synced_base_ = segments_.rbegin()->first;
  std::filesystem::remove(dir_ / kCleanShutdownFile);
  fsync_dir();
  spdlog::info("log {}: opened ({}), offsets [{}, {}), {} segments, {} scanned, {} bytes truncated",
               dir_.string(), clean ? "after a clean shutdown" : bases.empty() ? "new" : "after an unclean shutdown", log_start_.load(), end, segments_.size(),
               report_.segments_scanned, report_.bytes_truncated);
}

void PartitionLog::recover_segments(const std::vector<std::int64_t>& bases, bool clean, std::int64_t rp) {
  const LogSegment::Options opts = segment_options();
  std::int64_t expected = -1;
  bool cut = false;
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const std::int64_t base = bases[i];
    if (!cut && expected >= 0 && base < expected) {  // a gap is legal (compaction), an overlap is not
      report_.mid_log_corruption = true;
      note(spdlog::level::err, fmt::format("segment {} starts before the previous one ends ({}); "
                                           "dropping it and every later segment",
                                           base, expected));
      cut = true;
    }
    if (cut) {
      std::error_code ec;
      auto sz = std::filesystem::file_size(dir_ / LogSegment::file_name(base, ".log"), ec);
      report_.bytes_truncated += ec ? 0 : sz;
      LogSegment::remove_files(dir_, base);
      report_.segments_deleted.push_back(base);
      continue;
    }
    const std::int64_t next_base =
        i + 1 < bases.size() ? bases[i + 1] : std::numeric_limits<std::int64_t>::max();
    const bool trust = clean || next_base <= rp;
    ScanOutcome out;
    std::shared_ptr<LogSegment> seg = LogSegment::open(dir_, base, opts, trust, &out);
    if (!trust) ++report_.segments_scanned;
    if (out.indexes_rebuilt) ++report_.indexes_rebuilt;
    const bool last = i + 1 == bases.size();
    if (out.dropped_bytes > 0) {
      report_scan(base, out, last);
      // Zero preallocation after the last batch is a segment that was not trimmed
      // (killed while rolling); the next segment still follows on when the offsets
      // are contiguous, which the check at the top of the loop verifies.
      if (!last && !out.zero_tail) cut = true;
    }
    expected = out.next_offset;
    segments_[base] = std::move(seg);
  }
}

void PartitionLog::report_scan(std::int64_t base, const ScanOutcome& out, bool last) {
  report_.bytes_truncated += out.dropped_bytes;
  if (out.zero_tail) {
    note(spdlog::level::info, fmt::format("segment {}: dropped {} zero bytes of preallocation at position {}",
                                          base, out.dropped_bytes, out.valid_bytes));
  } else if (!last || out.followed_by_valid) {
    report_.mid_log_corruption = true;
    note(spdlog::level::err,
         fmt::format("CORRUPTION in the middle of the log: truncated {} bytes of segment {} at position {} "
                     "(offset {}): {}{}",
                     out.dropped_bytes, base, out.valid_bytes, out.next_offset,
                     out.error ? out.error->message : "invalid batch",
                     last ? "" : "; later segments are dropped"));
  } else {
    note(spdlog::level::warn, fmt::format("segment {}: truncated a torn tail of {} bytes at position {} "
                                          "(offset {}): {}",
                                          base, out.dropped_bytes, out.valid_bytes, out.next_offset,
                                          out.error ? out.error->message : "invalid batch"));
  }
}

LogResult<void> PartitionLog::write_recovery_point(std::int64_t offset) {
  std::lock_guard ck(checkpoint_mu_);
  const std::filesystem::path tmp = dir_ / (std::string(kRecoveryPointFile) + ".tmp");
  const std::string text = fmt::format("0\n1\n{}\n", offset);
  try {
    io::File f = io::File::open(tmp, io::File::Mode::truncate_rw);
    if (auto r = f.pwrite_full(std::as_bytes(std::span(text)), 0); !r) {
      return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
    }
    if (auto r = f.fdatasync(); !r) return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
  } catch (const std::system_error& e) {
    return std::unexpected(storage_error_from(e));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, dir_ / kRecoveryPointFile, ec);
  if (ec) return log_fail(LogErrc::storage_error, "rename " + tmp.string() + ": " + ec.message(), ec.value());
  fsync_dir();
  checkpointed_ = offset;
  return {};
}

void PartitionLog::fsync_dir() { fsync_directory(dir_); }

void PartitionLog::close() {
  std::lock_guard lk(append_mu_);
  if (closed_) return;
  closed_ = true;
  // From here on only this thread syncs.
  flusher_.stop();
  {
    std::lock_guard pl(prefault_mu_);
    to_prefault_.reset();
  }
  if (segments_.empty()) return;  // open() failed before the first segment

  bool ok = !flusher_.failed();
  const std::int64_t end = log_end_.load(std::memory_order_acquire);
  if (ok) {
    auto r = segments_.rbegin()->second->seal();
    if (!r) {
      ok = false;
      spdlog::error("log {}: close: {}", dir_.string(), r.error().message);
    }
  }
  if (ok) {
    auto r = sync_range(flusher_.flushed(), end);
    // Let waiters of already-appended offsets complete (success or the error).
    flusher_.complete(end, r ? std::nullopt : std::optional<LogError>(r.error()));
    ok = r.has_value();
  }
  if (ok) ok = write_recovery_point(end).has_value();
  if (ok) {
    try {
      io::File marker = io::File::open(dir_ / kCleanShutdownFile, io::File::Mode::truncate_rw);
      (void)marker.fdatasync();
      fsync_dir();
    } catch (const std::system_error& e) {
      spdlog::error("log {}: cannot write the clean-shutdown marker: {}", dir_.string(), e.what());
    }
  }
  flusher_.fail_pending();
  spdlog::debug("log {}: closed at offset {} ({})", dir_.string(), end, ok ? "clean" : "unclean");
}

}  // namespace nocopy::log
