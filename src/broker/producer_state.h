// Idempotent-producer state: producer id allocation (InitProducerId) and,
// per partition, the sequence window that turns a retried batch into a
// duplicate instead of a second append.
//
// ProducerIdAllocator
//   Hands out producer ids in blocks. Before the first id of a block is
//   returned, `persist(next_unreserved)` must have stored the block's end
//   durably; after a restart the allocator is built from that value, so an
//   id is never handed out twice (ids of a half-used block are skipped).
//   Thread-safe (InitProducerId arrives on any reactor thread).
//
// ProducerStateManager -- one per partition, like Kafka's.
//   Not thread-safe: call it under the partition's append serialization.
//   Per producer id it keeps the epoch and the last 5 batches appended
//   (Kafka's max.in.flight limit for idempotence), each as first/last
//   sequence and first/last offset. For an incoming batch, check() says:
//     append     -- new and in order (or not idempotent: producer_id -1);
//     duplicate  -- same epoch and same first/last sequence as one of the
//                   last 5: answer success with its original base offset,
//                   append nothing;
//     OUT_OF_ORDER_SEQUENCE_NUMBER (45) -- a gap, or a new epoch not starting
//                   at sequence 0;
//     INVALID_PRODUCER_EPOCH (47) -- an epoch older than the one seen.
//   A producer id the partition has never seen is accepted at any sequence
//   (its earlier batches may have been removed by retention; Kafka answers
//   UNKNOWN_PRODUCER_ID there, which librdkafka 2.0.2 treats as fatal).
//   After the append succeeded, the broker calls record() with the offsets
//   the log assigned. Sequences wrap from INT32_MAX to 0.
//
//   Expiry (Kafka's producer.id.expiration.ms): record() notes the broker
//   time of each producer's last append; expire(now, max_idle) forgets the
//   producers idle that long (their next batch is then accepted as from an
//   unknown producer). State restored from the log or a snapshot has no
//   time yet: the first expire() starts its clock.
//
//   Persistence: snapshot() serializes the state; load_snapshot() restores
//   it. After a crash, restore the last snapshot and replay the batch
//   headers appended after it (record() with the offsets from the log),
//   which is how Kafka rebuilds producer state. Snapshot format below
//   (all big-endian):
//     int16 version = 1 | int32 producer count | per producer:
//       int64 producer_id | int16 epoch | int8 batch count (<= 5) | per batch:
//         int32 first_seq | int32 last_seq | int64 first_offset | int64 last_offset
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kafka/error_code.h"
#include "kafka/init_producer_id.h"

namespace nocopy::broker {

class ProducerIdAllocator {
 public:
  // `next_unreserved`: the value last persisted (0 on a fresh broker).
  // `persist` is called with the new reservation end before any id of the
  // new block is returned; if it throws, allocate() throws and hands out
  // nothing.
  ProducerIdAllocator(std::int64_t next_unreserved, std::function<void(std::int64_t)> persist,
                      std::int64_t block_size = 1000);
  // Cluster mode: every block comes from `reserve(block_size)`, which returns
  // the first id of `block_size` ids no other allocator is ever given (a
  // counter in etcd, cluster::ClusterNode::reserve_producer_ids), so no two
  // brokers hand out the same producer id. If it throws, allocate() throws
  // and hands out nothing.
  ProducerIdAllocator(std::function<std::int64_t(std::int64_t)> reserve, std::int64_t block_size = 1000);

  std::int64_t allocate();

  // InitProducerId: a fresh id, epoch 0. Transactional ids are not
  // supported (INVALID_REQUEST); errors from persist give
  // COORDINATOR_NOT_AVAILABLE so the client retries.
  kafka::InitProducerIdResponse init_producer_id(const kafka::InitProducerIdRequest& req);

 private:
  std::mutex mu_;
  std::int64_t next_;
  std::int64_t reserved_until_;
  std::function<void(std::int64_t)> persist_;
  std::function<std::int64_t(std::int64_t)> reserve_;
  std::int64_t block_size_;
};

class ProducerStateManager {
 public:
  static constexpr std::size_t kMaxBatchesPerProducer = 5;
  static constexpr std::int64_t kNoProducerId = -1;

  // The idempotence fields of a RecordBatch v2 header.
  struct BatchId {
    std::int64_t producer_id = kNoProducerId;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t record_count = 0;  // lastOffsetDelta + 1

    std::int32_t last_sequence() const;
  };

  enum class Verdict { append, duplicate, reject };
  struct Check {
    Verdict verdict = Verdict::append;
    kafka::ErrorCode error = kafka::ErrorCode::none;  // set when rejected
    std::int64_t duplicate_base_offset = -1;          // set when duplicate
  };

  Check check(const BatchId& batch) const;

  // After a successful append (or while replaying the log): remember the
  // batch at [first_offset, last_offset]. No-op for producer_id -1.
  // `now_ms`: the broker's wall clock at the append (-1: unknown, e.g. while
  // replaying the log).
  void record(const BatchId& batch, std::int64_t first_offset, std::int64_t last_offset, std::int64_t now_ms = -1);

  // A transaction marker of `producer_id` at `epoch` was appended: a newer
  // epoch replaces the producer's (its sequences restart), so batches of
  // older epochs (a fenced zombie) are refused from now on.
  void on_marker(std::int64_t producer_id, std::int16_t epoch);
  // The epoch the partition knows for `producer_id`; -1 when unknown.
  std::int16_t epoch_of(std::int64_t producer_id) const;

  // Forgets every producer whose last append is at least `max_idle_ms` old
  // (< 0: never); returns how many. Producers with no time yet get `now_ms`.
  std::size_t expire(std::int64_t now_ms, std::int64_t max_idle_ms);

  std::vector<std::byte> snapshot() const;
  // Replaces the current state; false (state unchanged) on malformed input.
  bool load_snapshot(std::span<const std::byte> bytes);

  std::size_t producer_count() const { return producers_.size(); }

 private:
  struct BatchMeta {
    std::int32_t first_seq;
    std::int32_t last_seq;
    std::int64_t first_offset;
    std::int64_t last_offset;
  };
  struct Entry {
    std::int16_t epoch = -1;
    std::int64_t last_append_ms = -1;  // broker time of the last record(); -1: not known yet
    std::deque<BatchMeta> batches;  // oldest first, at most kMaxBatchesPerProducer
  };
  std::unordered_map<std::int64_t, Entry> producers_;
};

}  // namespace nocopy::broker
