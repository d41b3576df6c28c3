// Transaction markers: Kafka's control batches (COMMIT / ABORT) as a
// transaction coordinator writes them into each partition of a transaction.
//
// A control batch is a RecordBatch v2 with attributes bit 4 (transactional)
// and bit 5 (control) set, the producer's id and epoch, baseSequence -1 and
// exactly one record:
//   key   = int16 version (0) | int16 type (0 = ABORT, 1 = COMMIT)
//   value = int16 version (0) | int32 coordinatorEpoch
// (big-endian, as Kafka's EndTransactionMarker). Consumers skip these
// batches; read_committed consumers use ABORT markers to end an aborted
// transaction's filtering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace nocopy::log {

inline constexpr std::int16_t kAttrTransactional = 0x10;
inline constexpr std::int16_t kAttrControl = 0x20;

enum class ControlType : std::int16_t { abort = 0, commit = 1 };

struct ControlMarker {
  ControlType type = ControlType::abort;
  std::int32_t coordinator_epoch = 0;
};

// One control batch (baseOffset 0; the log assigns its offset).
std::vector<std::byte> build_control_batch(std::int64_t producer_id, std::int16_t producer_epoch,
                                           ControlMarker marker, std::int64_t timestamp_ms);

// The marker of a control batch occupying the start of `batch` (whole), or
// nullopt when it is not a well-formed, uncompressed control batch with a
// known marker type.
std::optional<ControlMarker> parse_control_batch(std::span<const std::byte> batch);

}  // namespace nocopy::log
