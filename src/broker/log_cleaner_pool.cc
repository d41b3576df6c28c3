#include "broker/log_cleaner_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>

#include "broker/metrics.h"
#include "io/clock.h"
#include "io/file.h"
#include "log/log_cleaner.h"
#include "log/partition_log.h"
#include "log/record_batch.h"

namespace nocopy::broker {

LogCleanerPool::LogCleanerPool(const Config& cfg, TopicRegistry& topics, Metrics* metrics)
    : cfg_(cfg), topics_(topics), metrics_(metrics) {}

LogCleanerPool::~LogCleanerPool() { stop(); }

void LogCleanerPool::start() {
  try {
    auto loaded = CleanerCheckpoint::load(cfg_.data_dir);
    std::lock_guard lock(mu_);
    checkpoints_ = std::move(loaded);
  } catch (const std::exception& e) {
    spdlog::warn("log cleaner: ignoring the checkpoint (every compacted log counts as dirty): {}", e.what());
  }
  for (std::uint32_t i = 0; i < cfg_.cleaner_threads; ++i) threads_.emplace_back([this] { run(); });
  if (cfg_.cleaner_threads)
    spdlog::info("log cleaner: {} thread{}, {} checkpointed partition{}", cfg_.cleaner_threads,
                 cfg_.cleaner_threads == 1 ? "" : "s", checkpoints_.size(), checkpoints_.size() == 1 ? "" : "s");
}

void LogCleanerPool::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void LogCleanerPool::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::int64_t LogCleanerPool::checkpoint(const std::string& topic, std::int32_t partition) const {
  std::lock_guard lock(mu_);
  auto it = checkpoints_.find({topic, partition});
  return it == checkpoints_.end() ? 0 : it->second;
}

void LogCleanerPool::run() {
  while (!stop_.load()) {
    bool cleaned = false;
    try {
      cleaned = clean_once();
    } catch (const std::exception& e) {
      spdlog::error("log cleaner: {}", e.what());
    }
    if (cleaned) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(cfg_.cleaner_backoff_ms), [&] { return stop_.load() || woken_; });
    woken_ = false;
  }
}

LogCleanerPool::Eligibility LogCleanerPool::assess(log::PartitionLog& log, const Config& cfg, std::int64_t checkpoint,
                                                   std::int64_t now_ms) {
  Eligibility e;
  if (checkpoint > log.log_end_offset()) checkpoint = 0;
  bool first_dirty = true;
  for (const auto& s : log.sealed_segments()) {
    const std::uint64_t size = s->committed().size;
    if (s->committed().next_offset <= checkpoint) {
      e.clean_bytes += size;
      continue;
    }
    const std::int64_t newest = s->max_timestamp();
    if (cfg.min_compaction_lag_ms > 0 && newest > now_ms - cfg.min_compaction_lag_ms) break;
    if (first_dirty && cfg.max_compaction_lag_ms < std::numeric_limits<std::int64_t>::max() &&
        log::LogCleaner::first_timestamp(*s).value_or(newest) <= now_ms - cfg.max_compaction_lag_ms)
      e.forced = true;
    first_dirty = false;
    e.dirty_bytes += size;
  }
  if (e.dirty_bytes == 0) return e;
  e.ratio = static_cast<double>(e.dirty_bytes) / static_cast<double>(e.clean_bytes + e.dirty_bytes);
  e.eligible = e.forced || e.ratio >= cfg.min_cleanable_dirty_ratio;
  return e;
}

bool LogCleanerPool::roll_if_lagging(log::PartitionLog& log, const Config& cfg, std::int64_t now_ms) {
  if (cfg.max_compaction_lag_ms == std::numeric_limits<std::int64_t>::max()) return false;
  const std::int64_t active_base = log.segment_base_offsets().back();
  if (log.log_end_offset() <= active_base) return false;  // empty
  // The active segment's first batch header.
  auto r = log.read(active_base, log::kBatchHeaderSize);
  if (!r || r->regions.empty() || r->regions.front().length < log::kBatchHeaderSize) return false;
  std::array<std::byte, log::kBatchHeaderSize> head{};
  const buf::FileRegion& reg = r->regions.front();
  if (auto n = reg.file->pread_full(head, reg.offset); !n || *n != head.size()) return false;
  const log::BatchHeader h = log::parse_batch_header(head);
  const std::int64_t first = h.log_append_time() ? h.max_timestamp : h.base_timestamp;
  if (first > now_ms - cfg.max_compaction_lag_ms) return false;
  if (auto r = log.roll(); !r) {
    spdlog::warn("log cleaner: {}: rolling for max.compaction.lag.ms: {}", log.dir().string(), r.error().to_string());
    return false;
  }
  return true;
}

std::optional<LogCleanerPool::Pick> LogCleanerPool::pick(std::int64_t now_ms) {
  std::optional<Pick> best;
  const std::int64_t steady = io::steady_clock_ms();
  std::lock_guard lock(mu_);
  if (stop_.load()) return std::nullopt;
  for (const auto& t : topics_.list()) {
    if (!t->config->compacts()) continue;
    for (const auto& p : t->partitions) {
      CleanerCheckpoint::Key key{t->name, p->index()};
      if (in_progress_.count(key)) continue;
      if (auto f = failed_until_.find(key); f != failed_until_.end()) {
        if (f->second > steady) continue;
        failed_until_.erase(f);
      }
      auto c = checkpoints_.find(key);
      std::int64_t first_dirty = c == checkpoints_.end() ? 0 : c->second;
      if (roll_if_lagging(p->log(), *t->config, now_ms))
        spdlog::info("log cleaner: {}-{}: active segment rolled (its first record is older than "
                     "max.compaction.lag.ms {})",
                     t->name, p->index(), t->config->max_compaction_lag_ms);
      if (first_dirty > p->log().log_end_offset()) first_dirty = 0;
      Eligibility e = assess(p->log(), *t->config, first_dirty, now_ms);
      if (!e.eligible) continue;
      if (!best || e.ratio > best->why.ratio) best = Pick{p, t->config, key, e, first_dirty};
    }
  }
  if (best) in_progress_.insert(best->key);
  return best;
}

bool LogCleanerPool::clean_once(std::optional<std::int64_t> now_ms) {
  const std::int64_t now = now_ms ? *now_ms : io::wall_clock_ms();
  auto p = pick(now);
  if (!p) return false;
  clean(*p, now, !now_ms);
  return true;
}

void LogCleanerPool::clean(const Pick& p, std::int64_t now_ms, bool use_clock) {
  const Config& tc = *p.config;
  log::CleanerConfig cc;
  cc.delete_retention_ms = tc.delete_retention_ms;
  cc.min_compaction_lag_ms = tc.min_compaction_lag_ms;
  cc.first_dirty_offset = p.first_dirty;
  cc.upper_offset = p.partition->last_stable_offset();
  cc.aborted = p.partition->aborted_transactions(0, std::numeric_limits<std::int64_t>::max());
  cc.offset_map_bytes = cfg_.cleaner_dedupe_buffer_size / std::max<std::uint32_t>(1, cfg_.cleaner_threads);
  const double rate = cfg_.cleaner_io_max_bytes_per_second;
  if (rate > 0 && rate < std::numeric_limits<double>::max())
    cc.io_max_bytes_per_second = rate / std::max<std::uint32_t>(1, cfg_.cleaner_threads);
  if (!use_clock) cc.clock = [now_ms] { return now_ms; };
  cc.cancelled = [this] { return stop_.load(std::memory_order_relaxed); };
  const auto t0 = std::chrono::steady_clock::now();
  auto r = log::LogCleaner::clean(p.partition->log(), cc);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string name = p.key.first + "-" + std::to_string(p.key.second);
  {
    std::lock_guard lock(mu_);
    in_progress_.erase(p.key);
    if (!r) {
      failed_until_[p.key] = io::steady_clock_ms() + cfg_.cleaner_backoff_ms;
    } else if (r->cleaned_end >= 0) {
      checkpoints_[p.key] = r->cleaned_end;
    }
  }
  if (!r) {
    if (!stop_.load()) spdlog::warn("log cleaner: {}: {} (retried after {} ms)", name, r.error().to_string(),
                                    cfg_.cleaner_backoff_ms);
    return;
  }
  if (metrics_) metrics_->on_clean(r->bytes_read, r->bytes_written, r->records_read - r->records_kept, secs);
  spdlog::info("log cleaner: {}: dirty ratio {:.2f}{}, {} segment(s) -> {}, {:.1f} MB read -> {:.1f} MB written, "
               "{} of {} records kept, {} tombstone(s) dropped, {} keys{}, {} segment(s) unchanged, {:.3f} s ({:.1f} MB/s); "
               "cleaned up to {}",
               name, p.why.ratio, p.why.forced ? " (max.compaction.lag.ms)" : "", r->segments_cleaned,
               r->segments_written, r->bytes_read / 1e6, r->bytes_written / 1e6, r->records_kept, r->records_read,
               r->tombstones_dropped, r->keys, r->map_full ? " (offset map full)" : "", r->segments_unchanged, secs, secs > 0 ? r->bytes_read / 1e6 / secs : 0.0, r->cleaned_end);
  save_checkpoint();
}

void LogCleanerPool::save_checkpoint() {
  std::lock_guard serial(save_mu_);
  CleanerCheckpoint::Offsets out;
  {
    std::lock_guard lock(mu_);
    // Partitions that no longer exist leave the file.
    for (const auto& t : topics_.list())
      for (const auto& p : t->partitions)
        if (auto it = checkpoints_.find({t->name, p->index()}); it != checkpoints_.end()) out.insert(*it);
  }
  try {
    CleanerCheckpoint::save(cfg_.data_dir, out);
  } catch (const std::exception& e) {
    spdlog::warn("log cleaner: writing the checkpoint: {} (a restart cleans those logs again)", e.what());
  }
}

}  // namespace nocopy::broker
