// LeaderEpochCache: which leader epoch wrote which offsets of one partition
// log -- Kafka's leader-epoch cache and its `leader-epoch-checkpoint` file.
//
// An entry (epoch, start_offset) says: the leader of `epoch` appended its
// first batch at `start_offset`. Entries are strictly increasing in both
// epoch and start offset. A follower asks the leader "where does my latest
// epoch end in your log" (OffsetForLeaderEpoch) and truncates its own log
// there; end_offset_for() is that answer.
//
// File (same format as Kafka's):
//   0                  version
//   <n>                number of entries
//   <epoch> <offset>   n lines, oldest first
// Every change is written to `<dir>/leader-epoch-checkpoint.tmp`, fdatasync'd,
// renamed over the checkpoint and the directory fsync'd: a crash leaves the
// old or the new file, never a mix. An unreadable file is logged and treated
// as empty (the cache is a hint for truncation; the leader's answer is
// authoritative), as Kafka does.
//
// Thread-safety: every member takes the cache's mutex.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

#include "log/log_error.h"

namespace nocopy::log {

struct EpochEntry {
  std::int32_t epoch = 0;
  std::int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

// OffsetForLeaderEpoch's answer: the largest epoch <= the one asked for and
// the offset where it ends (the next epoch's start, or the log end for the
// latest epoch); {-1, -1} when unknown.
struct EpochEndOffset {
  std::int32_t epoch = -1;
  std::int64_t end_offset = -1;
  bool operator==(const EpochEndOffset&) const = default;
};

class LeaderEpochCache {
 public:
  static constexpr const char* kFileName = "leader-epoch-checkpoint";

  // Loads `<dir>/leader-epoch-checkpoint` when present.
  explicit LeaderEpochCache(std::filesystem::path dir);

  // Records that `epoch` starts at `start_offset`. No-op when `epoch` is not
  // newer than the latest entry (appends of the same leader). An entry whose
  // start offset is >= start_offset (a stale tail) is replaced. Writes the
  // checkpoint when something changed.
  LogResult<void> assign(std::int32_t epoch, std::int64_t start_offset);
  // Removes entries that start at or after `end_offset` (the log was
  // truncated to `end_offset`).
  LogResult<void> truncate_from_end(std::int64_t end_offset);
  // The log now starts at `start_offset`: entries wholly below it go; the
  // entry that covers it is moved up to start there.
  LogResult<void> truncate_from_start(std::int64_t start_offset);
  // Removes every entry (and the file).
  LogResult<void> clear();

  EpochEndOffset end_offset_for(std::int32_t requested_epoch, std::int64_t log_end_offset) const;
  std::optional<EpochEntry> latest() const;
  std::vector<EpochEntry> entries() const;

 private:
  LogResult<void> write_locked();
  void load();

  const std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::vector<EpochEntry> entries_;  // oldest first
};

}  // namespace nocopy::log
