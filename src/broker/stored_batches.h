#pragma once
// Reading back an internal topic's partition (__consumer_offsets,
// __transaction_state) at start-up, batch by batch.
#include <cstdint>
#include <functional>
#include <span>

namespace nocopy::broker {

class Partition;

/// Calls `fn(batch_bytes, base_offset)` for every whole batch stored in `part`
/// from its log start to its high watermark (`to_log_end`: to its log end --
/// a new leader loading a coordinator partition, whose whole log is the
/// partition's from then on), oldest first. The bytes are
/// copied out of the log one read (up to 1 MiB) at a time: start-up replay
/// only, never on the fetch path. Stops early on a read error or a torn tail.
void for_each_stored_batch(Partition& part,
                           const std::function<void(std::span<const std::byte>, std::int64_t)>& fn,
                           bool to_log_end = false);

}  // namespace nocopy::broker
