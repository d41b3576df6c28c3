#include "log/leader_epoch_cache.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "log/checkpoint_file.h"

namespace nocopy::log {

LeaderEpochCache::LeaderEpochCache(std::filesystem::path dir) : dir_(std::move(dir)) { load(); }

void LeaderEpochCache::load() {
  auto text = read_checkpoint_file(dir_, kFileName);
  if (!text) return;
  std::istringstream in(*text);
  std::int64_t version = -1, count = -1;
  std::vector<EpochEntry> loaded;
  bool ok = static_cast<bool>(in >> version >> count) && version == 0 && count >= 0 && count <= 1'000'000;
  for (std::int64_t i = 0; ok && i < count; ++i) {
    EpochEntry e;
    ok = static_cast<bool>(in >> e.epoch >> e.start_offset) && e.epoch >= 0 && e.start_offset >= 0 &&
         (loaded.empty() || (e.epoch > loaded.back().epoch && e.start_offset > loaded.back().start_offset));
    if (ok) loaded.push_back(e);
  }
  std::string rest;
  if (ok && (in >> rest)) ok = false;  // trailing garbage
  if (!ok) {
    spdlog::warn("log {}: unreadable {}; starting with an empty leader-epoch cache", dir_.string(), kFileName);
    return;
  }
  entries_ = std::move(loaded);
}

LogResult<void> LeaderEpochCache::write_locked() {
  std::string text = fmt::format("0\n{}\n", entries_.size());
  for (const EpochEntry& e : entries_) text += fmt::format("{} {}\n", e.epoch, e.start_offset);
  return write_checkpoint_file(dir_, kFileName, text);
}

LogResult<void> LeaderEpochCache::assign(std::int32_t epoch, std::int64_t start_offset) {
  if (epoch < 0 || start_offset < 0) return {};
  std::lock_guard lk(mu_);
  if (!entries_.empty() && epoch <= entries_.back().epoch) return {};
  // A newer epoch starting at or below an older entry's start: that older
  // tail was never written by its leader here (or was truncated); drop it.
  while (!entries_.empty() && entries_.back().start_offset >= start_offset) entries_.pop_back();
  entries_.push_back({epoch, start_offset});
  return write_locked();
}

LogResult<void> LeaderEpochCache::truncate_from_end(std::int64_t end_offset) {
  std::lock_guard lk(mu_);
  const std::size_t before = entries_.size();
  while (!entries_.empty() && entries_.back().start_offset >= end_offset) entries_.pop_back();
  if (entries_.size() == before) return {};
  return write_locked();
}

LogResult<void> LeaderEpochCache::truncate_from_start(std::int64_t start_offset) {
  std::lock_guard lk(mu_);
  // Entries whose successor starts at or below start_offset cover nothing left.
  std::size_t drop = 0;
  while (drop + 1 < entries_.size() && entries_[drop + 1].start_offset <= start_offset) ++drop;
  bool changed = drop > 0;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(drop));
  if (!entries_.empty() && entries_.front().start_offset < start_offset) {
    entries_.front().start_offset = start_offset;
    changed = true;
  }
  if (!changed) return {};
  return write_locked();
}

LogResult<void> LeaderEpochCache::clear() {
  std::lock_guard lk(mu_);
  entries_.clear();
  return write_locked();
}

EpochEndOffset LeaderEpochCache::end_offset_for(std::int32_t requested, std::int64_t log_end_offset) const {
  std::lock_guard lk(mu_);
  if (requested < 0 || entries_.empty()) return {};
  if (requested == entries_.back().epoch) return {requested, log_end_offset};
  // The first entry with a newer epoch than the one asked for.
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), requested,
                                 [](std::int32_t e, const EpochEntry& x) { return e < x.epoch; });
  if (higher == entries_.end()) return {};  // newer than anything known
  if (higher == entries_.begin()) return {requested, higher->start_offset};  // older than anything known
  return {std::prev(higher)->epoch, higher->start_offset};
}

std::optional<EpochEntry> LeaderEpochCache::latest() const {
  std::lock_guard lk(mu_);
  if (entries_.empty()) return std::nullopt;
  return entries_.back();
}

std::vector<EpochEntry> LeaderEpochCache::entries() const {
  std::lock_guard lk(mu_);
  return entries_;
}

}  // namespace nocopy::log
