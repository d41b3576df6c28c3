// ProducerSnapshot: a partition's producer and transaction state as of an
// offset, stored beside its segments so a restart replays only the batches
// appended after it instead of the whole log (Kafka's producer snapshots).
//
// Contents: the idempotent producers (ProducerStateManager::snapshot()), the
// transactions open at that offset (producer id -> first offset) and the
// offset of the last aborted transaction's marker then known (so a restart
// can tell a transaction index that lost entries in a crash).
//
// File `<20-digit offset>.producer_snapshot` in the partition directory,
// written as a checkpoint file (temp file, fdatasync, rename, directory
// fsync): int16 version (2) | the ProducerSnapshotFile body
// (src/kafka/schema/producer_snapshot_file.msg: offset, last aborted marker,
// open transactions, the producer state as bytes) | uint32 CRC-32C of
// everything before it. Big-endian.
// A file that fails its CRC or does not parse is ignored (read() nullopt).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "log/log_error.h"

namespace nocopy::broker {

struct ProducerSnapshot {
  std::int64_t offset = 0;            // the state of every batch below this offset
  std::int64_t last_aborted_marker = -1;
  std::map<std::int64_t, std::int64_t> open_txns;  // producer id -> first offset
  std::vector<std::byte> producers;   // ProducerStateManager::snapshot()

  std::vector<std::byte> encode() const;
  static std::optional<ProducerSnapshot> decode(std::span<const std::byte> bytes);
};

class ProducerSnapshotFiles {
 public:
  static constexpr const char* kSuffix = ".producer_snapshot";
  // How many snapshots write() leaves: the newest and the one before it (a
  // crash that loses the log past the newest still finds an older one).
  static constexpr std::size_t kKeep = 2;

  // Offsets of the snapshots in `dir`, ascending.
  static std::vector<std::int64_t> list(const std::filesystem::path& dir);
  // Writes `s` durably, then removes all but the newest kKeep.
  static log::LogResult<void> write(const std::filesystem::path& dir, const ProducerSnapshot& s);
  // nullopt: missing, unreadable, or corrupt.
  static std::optional<ProducerSnapshot> read(const std::filesystem::path& dir, std::int64_t offset);
  static void remove(const std::filesystem::path& dir, std::int64_t offset) noexcept;
};

}  // namespace nocopy::broker
