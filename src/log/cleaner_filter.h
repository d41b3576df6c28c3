// What the log cleaner keeps of one stored batch, and the re-batching of
// what it keeps in Kafka's format (the per-record half of log_cleaner.h).
//
// A record survives when:
//   * its offset is at or after FilterRules::end (beyond what the offset map
//     covers: the batch is kept untouched);
//   * it has no key, or its key's offset in the map is its own, or its key
//     is not in the map (a record of the clean section no dirty record
//     supersedes);
//   * and, a tombstone (null value), while its timestamp is at or after
//     FilterRules::tombstone_horizon (now - delete.retention.ms).
// Transactions (Kafka's rules): a transactional data batch of an aborted
// transaction (AbortedRanges, from the .txnindex entries) is removed whole;
// a transaction marker (control batch) is removed once no record of its
// transaction is left before it and its timestamp is older than
// tombstone_horizon, unless it is its producer's last batch. The caller
// keeps ongoing transactions out (FilterRules::end at or below the first
// unstable offset).
// A batch that keeps every record is copied unchanged; one that keeps none
// disappears -- except an idempotent producer's last batch, which stays as
// an empty batch (its header alone: recordsCount 0, no codec) so that the
// producer's sequence state outlives the cleaning (Kafka's RETAIN_EMPTY);
// otherwise it is rewritten: same baseOffset and lastOffsetDelta (as
// Kafka's cleaner keeps the last offset, so consumers and the producer
// state move past the whole batch), the records copied byte for byte
// (offsets and timestamps unchanged), recordsCount, maxTimestamp
// (CreateTime) and the CRC-32C recomputed. A compressed batch is decompressed (record_codec.h)
// to be filtered the same way, and its retained records are compressed
// again with the batch's codec; one that cannot be decompressed (corrupt,
// or larger than max_decompressed_bytes) fails the clean with
// corrupt_message naming its offset.
// Thread-safety: one BatchFilter per cleaning.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "log/log_error.h"
#include "log/offset_map.h"
#include "log/record_batch.h"
#include "log/txn_index.h"

namespace nocopy::log {

// One record of a records section: where its bytes are (length varint
// included) and what the cleaner decides on.
struct RecordView {
  std::span<const std::byte> bytes;
  std::int32_t offset_delta = 0;
  std::int64_t timestamp_delta = 0;
  bool has_key = false;
  std::string_view key;
  bool tombstone = false;
};

// Splits the `count` records of an (uncompressed) records section; false
// when malformed (a length or field running past the section, or bytes left
// over).
bool split_records(std::span<const std::byte> records, std::int32_t count, std::vector<RecordView>& out);

// The records section of the stored batch `batch` (header `h`): the bytes
// after its header, or for a compressed batch their decompression into
// `buf` (at most max_out bytes). corrupt_message when that fails.
LogResult<std::span<const std::byte>> records_section(const BatchHeader& h, std::span<const std::byte> batch,
                                                      std::vector<std::byte>& buf, std::size_t max_out);

// The aborted transactions of a log, by producer.
class AbortedRanges {
 public:
  AbortedRanges() = default;
  explicit AbortedRanges(std::span<const AbortedTxn> txns);
  // True when a transactional batch of `producer_id` at `offset` belongs to
  // an aborted transaction (first offset <= offset <= its ABORT marker).
  bool contains(std::int64_t producer_id, std::int64_t offset) const;
  bool empty() const noexcept { return by_producer_.empty(); }

 private:
  std::unordered_map<std::int64_t, std::vector<std::pair<std::int64_t, std::int64_t>>> by_producer_;
};

struct FilterRules {
  const OffsetMap* map = nullptr;
  const AbortedRanges* aborted = nullptr;
  std::int64_t end = 0;
  std::int64_t tombstone_horizon = 0;
  std::size_t max_decompressed_bytes = 64u << 20;
};

struct FilterCounts {
  std::uint64_t records_read = 0;
  std::uint64_t records_kept = 0;
  std::uint64_t tombstones_dropped = 0;
  std::uint64_t batches_kept_whole = 0;
  std::uint64_t batches_recompressed = 0;
  std::uint64_t aborted_records_dropped = 0;
  std::uint64_t markers_dropped = 0;
  std::uint64_t empty_batches_kept = 0;
};

class BatchFilter {
 public:
  explicit BatchFilter(FilterRules rules) : rules_(rules) {}

  // Appends what `batch` (one whole stored batch, header `h`) keeps to
  // `out`; `keep`: it is its producer's last batch (a marker is then kept
  // whole, a data batch at least as an empty batch). Returns whether the bytes appended differ from
  // the batch's; corrupt_message when its records are malformed.
  LogResult<bool> filter(const BatchHeader& h, std::span<const std::byte> batch, bool keep,
                         std::vector<std::byte>& out);

  const FilterCounts& counts() const noexcept { return counts_; }

 private:
  bool keeps(const BatchHeader& h, const RecordView& r, std::int64_t& ts);
  LogResult<bool> records_filtered(const BatchHeader& h, std::span<const std::byte> batch, bool retain_empty,
                                   std::vector<std::byte>& out);
  void write_empty(const BatchHeader& h, std::span<const std::byte> batch, std::vector<std::byte>& out);
  bool marker(const BatchHeader& h, std::span<const std::byte> batch, bool keep, std::vector<std::byte>& out);
  void keep_whole(const BatchHeader& h, std::span<const std::byte> batch, std::vector<std::byte>& out);
  // Writes the batch of the retained records (kept_ holds their bytes) at
  // the end of `out`: the header patched, the records compressed as `h`'s.
  LogResult<void> rebatch(const BatchHeader& h, std::span<const std::byte> batch, std::int32_t kept,
                          std::int64_t max_ts, std::vector<std::byte>& out);

  FilterRules rules_;
  FilterCounts counts_;
  std::vector<RecordView> recs_;
  std::vector<std::byte> plain_;  // a compressed batch's records, decompressed
  std::vector<std::byte> kept_;   // the retained records' bytes
  // Producers with an open transaction in the walk: whether any of its
  // records was kept.
  std::unordered_map<std::int64_t, bool> open_txns_;
};

}  // namespace nocopy::log
