// TransactionTracker: one partition's transactions as its log shows them --
// the transactions still open (producer id -> first offset), the last stable
// offset (LSO) they imply, and the aborted transactions, kept in the
// segments' transaction indexes (txn_index.h) and mirrored in memory.
//
// Contract:
//  * The LSO is the first offset of the earliest open transaction, else the
//    high watermark passed in. A read_committed reader reads only below it.
//  * on_data() must run before the log publishes a transactional batch
//    (with the offset it will get, or any lower one: a lower first offset
//    only holds the LSO back), so no reader ever sees the LSO past an open
//    transaction's data; data_appended() then moves it to the real offset.
//  * on_marker() after the marker's append: the transaction is closed; an
//    ABORT of an open transaction appends an entry to the .txnindex of the
//    segment holding the marker and returns it.
//  * Recovery: load() reads the .txnindex files of the live segments (and
//    removes those of segments that are gone); the owner restores the open
//    transactions of a snapshot (restore_open) and replays the log's batch
//    headers after it -- or, without one, all of them -- through
//    on_data()/on_marker() with `replay` set: aborts already indexed are not
//    indexed twice, aborts a crash kept out of the index are added.
//  * aborted(from, upper): the aborted transactions a fetch from `from` up to
//    `upper` must report (last_offset >= from, first_offset < upper).
//
// Thread-safety: every member may be called from any thread (one mutex);
// first_unstable() and last_stable_offset() read an atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "log/control_batch.h"
#include "log/log_error.h"
#include "log/txn_index.h"

namespace nocopy::log {

class TransactionTracker {
 public:
  explicit TransactionTracker(std::filesystem::path dir);

  // Loads the indexes of `segment_bases` (ascending) and removes .txnindex
  // files of other segments.
  void load(std::span<const std::int64_t> segment_bases);

  // A transactional data batch of `producer_id` will be (or, replaying, was)
  // appended at `first_offset`. Opens its transaction when none is open.
  void on_data(std::int64_t producer_id, std::int64_t first_offset);
  // The batch registered with on_data(provisional) landed at `actual`.
  void data_appended(std::int64_t producer_id, std::int64_t provisional, std::int64_t actual);
  // The producer's append failed: forget a transaction this batch opened.
  void data_failed(std::int64_t producer_id, std::int64_t provisional);

  // A marker of `producer_id` is at `marker_offset`, in the segment based
  // at `segment_base`. Returns the index entry of an aborted open
  // transaction; an error only when that entry could not be written (the
  // in-memory state is updated either way).
  LogResult<std::optional<AbortedTxn>> on_marker(std::int64_t producer_id, ControlType type,
                                                 std::int64_t marker_offset, std::int64_t segment_base,
                                                 bool replay = false);

  // First offset of the earliest open transaction; -1 when none.
  std::int64_t first_unstable() const noexcept { return first_unstable_.load(std::memory_order_acquire); }
  std::int64_t last_stable_offset(std::int64_t high_watermark) const noexcept {
    const std::int64_t f = first_unstable();
    return f >= 0 && f < high_watermark ? f : high_watermark;
  }

  std::vector<AbortedTxn> aborted(std::int64_t from, std::int64_t upper) const;
  // Producer ids with an open transaction and its first offset.
  std::map<std::int64_t, std::int64_t> open_transactions() const;
  // Recovery from a snapshot: the transactions open at its offset (producer
  // id -> first offset) replace the open set; replay the log from there.
  void restore_open(const std::map<std::int64_t, std::int64_t>& open);
  // Marker offset of the last aborted transaction known (in memory, indexed
  // or not); -1 when none.
  std::int64_t last_aborted_marker() const;
  // Marker offset of the last entry load() read from the indexes; -1 when none.
  std::int64_t indexed_until() const;
  std::size_t aborted_count() const;

  // Retention: forgets aborted transactions wholly below `log_start` and
  // removes the indexes of segments no longer in `segment_bases`.
  void prune(std::int64_t log_start, std::span<const std::int64_t> segment_bases);

 private:
  void publish_locked();

  const std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::map<std::int64_t, std::int64_t> open_;          // producer id -> first offset
  std::multiset<std::int64_t> firsts_;                 // first offsets of open_
  std::vector<AbortedTxn> aborted_;                    // by last_offset (marker order)
  std::int64_t indexed_until_ = -1;                    // last marker offset read from the indexes
  std::atomic<std::int64_t> first_unstable_{-1};
};

}  // namespace nocopy::log
