// PartitionLog's side of log compaction: the sealed segments it offers the
// cleaner and the swap of cleaned segments (steps in cleaner_swap.h).
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "log/cleaner_swap.h"
#include "log/partition_log.h"

namespace nocopy::log {

namespace fs = std::filesystem;

std::vector<std::shared_ptr<const LogSegment>> PartitionLog::sealed_segments() const {
  std::shared_lock lk(segments_mu_);
  std::vector<std::shared_ptr<const LogSegment>> out;
  for (auto it = segments_.begin(); it != segments_.end() && std::next(it) != segments_.end(); ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::uint64_t PartitionLog::segment_bytes() const {
  std::lock_guard lk(append_mu_);
  return config_.segment_bytes;
}

LogResult<void> PartitionLog::swap_cleaned(std::int64_t base, std::int64_t end,
                                           std::span<const std::int64_t> replaced, const SwapHook& hook) {
  auto step = [&](std::string_view name) {
    if (hook) hook(name);
  };
  std::unique_lock lk(append_mu_);
  auto abandon = [&](std::string why) -> LogResult<void> {
    std::error_code ec;
    fs::remove(cleaner_swap::cleaned_log(dir_, base), ec);
    fs::remove(cleaner_swap::cleaned_end(dir_, base), ec);
    return log_fail(LogErrc::storage_error, fmt::format("log {}: cleaned segment {} not swapped in: {}", dir_.string(),
                                                   base, std::move(why)));
  };
  if (closed_) return abandon("the log is closed");
  if (replaced.empty() || replaced.front() != base) return abandon("no segments to replace");
  std::vector<std::shared_ptr<LogSegment>> old;
  {
    std::shared_lock rl(segments_mu_);
    const std::int64_t active_base = segments_.rbegin()->first;
    if (end > active_base) return abandon("the range reaches the active segment");
    auto it = segments_.lower_bound(base);
    for (std::int64_t b : replaced) {
      if (it == segments_.end() || it->first != b) return abandon("the segments changed meanwhile");
      old.push_back(it->second);
      ++it;
    }
    if (it != segments_.end() && it->first < end) return abandon("the segments changed meanwhile");
  }
  try {
    // Commit point: the .log's rename (its end marker goes first).
    fs::rename(cleaner_swap::cleaned_end(dir_, base), cleaner_swap::swap_end(dir_, base));
    step("end_renamed");
    fs::rename(cleaner_swap::cleaned_log(dir_, base), cleaner_swap::swap_log(dir_, base));
    cleaner_swap::sync_dir(dir_);
    step("committed");
    for (const auto& s : old) {
      s->retire_files();
      step("old_retired");
    }
    fs::rename(cleaner_swap::swap_log(dir_, base), dir_ / LogSegment::file_name(base, ".log"));
    step("renamed");
    ScanOutcome out;
    std::shared_ptr<LogSegment> seg = LogSegment::open(dir_, base, segment_options(), /*trust_indexes=*/false, &out);
    if (out.error || out.dropped_bytes > 0) {
      // The cleaner wrote and synced this file; an invalid batch in it is a bug
      // or a disk fault. The swap is committed: recovery at the next open
      // would treat the file the same way, so say so loudly.
      spdlog::error("log {}: cleaned segment {} failed validation at position {}: {}", dir_.string(), base,
                    out.valid_bytes, out.error ? out.error->message : "trailing bytes");
    }
    step("opened");
    {
      std::unique_lock wl(segments_mu_);
      for (const auto& s : old) segments_.erase(s->base_offset());
      segments_[base] = std::move(seg);
      log_start_.store(segments_.begin()->first, std::memory_order_release);
    }
    fs::remove(cleaner_swap::swap_end(dir_, base));
    cleaner_swap::sync_dir(dir_);
    step("done");
  } catch (const std::exception& e) {
    // The state on disk is one that finish_swaps() completes or rolls back at
    // the next open; the segments in memory are still the old ones.
    return log_fail(LogErrc::storage_error,
                    fmt::format("log {}: swapping in cleaned segment {} failed: {}", dir_.string(), base, e.what()));
  }
  lk.unlock();
  for (auto& s : old) s->delete_retired_files();
  return {};
}

}  // namespace nocopy::log
