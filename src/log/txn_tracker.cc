#include "log/txn_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <system_error>

namespace nocopy::log {

TransactionTracker::TransactionTracker(std::filesystem::path dir) : dir_(std::move(dir)) {}

namespace {

// Removes the .txnindex files in `dir` of segments not in `segment_bases`
// (errors ignored: a file left behind goes at the next pass).
void remove_stale_indexes(const std::filesystem::path& dir, std::span<const std::int64_t> segment_bases) {
  const std::set<std::int64_t> live(segment_bases.begin(), segment_bases.end());
  std::error_code ec;
  std::vector<std::filesystem::path> stale;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::int64_t base = TxnIndexFile::base_of(e.path());
    if (base >= 0 && !live.contains(base)) stale.push_back(e.path());
  }
  for (const auto& p : stale) std::filesystem::remove(p, ec);
}

}  // namespace

void TransactionTracker::load(std::span<const std::int64_t> segment_bases) {
  std::lock_guard lock(mu_);
  remove_stale_indexes(dir_, segment_bases);
  aborted_.clear();
  for (std::int64_t base : segment_bases) {
    try {
      for (const AbortedTxn& t : TxnIndexFile::read(TxnIndexFile::path_for(dir_, base))) aborted_.push_back(t);
    } catch (const std::system_error& e) {
      spdlog::warn("{}: cannot read the transaction index of segment {}: {}", dir_.string(), base, e.what());
    }
  }
  std::stable_sort(aborted_.begin(), aborted_.end(),
                   [](const AbortedTxn& a, const AbortedTxn& b) { return a.last_offset < b.last_offset; });
  indexed_until_ = aborted_.empty() ? -1 : aborted_.back().last_offset;
}

void TransactionTracker::publish_locked() {
  first_unstable_.store(firsts_.empty() ? -1 : *firsts_.begin(), std::memory_order_release);
}

void TransactionTracker::on_data(std::int64_t producer_id, std::int64_t first_offset) {
  std::lock_guard lock(mu_);
  if (open_.try_emplace(producer_id, first_offset).second) {
    firsts_.insert(first_offset);
    publish_locked();
  }
}

void TransactionTracker::data_appended(std::int64_t producer_id, std::int64_t provisional, std::int64_t actual) {
  if (provisional == actual) return;
  std::lock_guard lock(mu_);
  auto it = open_.find(producer_id);
  if (it == open_.end() || it->second != provisional) return;
  firsts_.erase(firsts_.find(provisional));
  it->second = actual;
  firsts_.insert(actual);
  publish_locked();
}

void TransactionTracker::data_failed(std::int64_t producer_id, std::int64_t provisional) {
  std::lock_guard lock(mu_);
  auto it = open_.find(producer_id);
  if (it == open_.end() || it->second != provisional) return;
  firsts_.erase(firsts_.find(provisional));
  open_.erase(it);
  publish_locked();
}

LogResult<std::optional<AbortedTxn>> TransactionTracker::on_marker(std::int64_t producer_id, ControlType type,
                                                                   std::int64_t marker_offset,
                                                                   std::int64_t segment_base, bool replay) {
  std::lock_guard lock(mu_);
  auto it = open_.find(producer_id);
  if (it == open_.end()) return std::optional<AbortedTxn>{};
  const std::int64_t first = it->second;
  firsts_.erase(firsts_.find(first));
  open_.erase(it);
  publish_locked();
  if (type != ControlType::abort) return std::optional<AbortedTxn>{};
  if (replay && marker_offset <= indexed_until_) return std::optional<AbortedTxn>{};
  AbortedTxn t{producer_id, first, marker_offset, firsts_.empty() ? marker_offset + 1 : *firsts_.begin()};
  aborted_.push_back(t);
  auto w = TxnIndexFile::append(TxnIndexFile::path_for(dir_, segment_base), t);
  if (!w) return std::unexpected(w.error());
  return std::optional<AbortedTxn>{t};
}

std::vector<AbortedTxn> TransactionTracker::aborted(std::int64_t from, std::int64_t upper) const {
  std::vector<AbortedTxn> out;
  std::lock_guard lock(mu_);
  // aborted_ is ordered by last_offset: skip those ending before `from`.
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), from,
                             [](const AbortedTxn& a, std::int64_t v) { return a.last_offset < v; });
  for (; it != aborted_.end(); ++it)
    if (it->first_offset < upper) out.push_back(*it);
  return out;
}

std::map<std::int64_t, std::int64_t> TransactionTracker::open_transactions() const {
  std::lock_guard lock(mu_);
  return open_;
}

void TransactionTracker::restore_open(const std::map<std::int64_t, std::int64_t>& open) {
  std::lock_guard lock(mu_);
  open_ = open;
  firsts_.clear();
  for (const auto& [pid, first] : open_) firsts_.insert(first);
  publish_locked();
}

std::int64_t TransactionTracker::last_aborted_marker() const {
  std::lock_guard lock(mu_);
  return aborted_.empty() ? -1 : aborted_.back().last_offset;
}

std::int64_t TransactionTracker::indexed_until() const {
  std::lock_guard lock(mu_);
  return indexed_until_;
}

std::size_t TransactionTracker::aborted_count() const {
  std::lock_guard lock(mu_);
  return aborted_.size();
}

void TransactionTracker::prune(std::int64_t log_start, std::span<const std::int64_t> segment_bases) {
  std::lock_guard lock(mu_);
  std::erase_if(aborted_, [&](const AbortedTxn& a) { return a.last_offset < log_start; });
  remove_stale_indexes(dir_, segment_bases);
}

}  // namespace nocopy::log
