// Produce workload: `nocopy perf produce`, on librdkafka's C API.
//
// Each of `instances` threads owns one rd_kafka_t producer, writes messages of
// `message_size` bytes whose value starts with a PayloadHeader (its own run id,
// dense sequence numbers from 0, CLOCK_REALTIME timestamp), and records the
// produce-ack latency of every message (enqueue -> delivery report) in its
// own LatencyHistogram. run() blocks until every message is acknowledged or
// failed, or the timeout expires after the last enqueue.
//
// Thread-safety: a ProduceWorkload runs once; progress() may be called from
// another thread while run() is running.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "perf/kafka_client.h"
#include "perf/latency_histogram.h"

namespace nocopy::perf {

struct ProduceOptions {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "perf";
  std::uint64_t num_messages = 0;  // total over all instances; 0: use duration_s
  double duration_s = 0;           // used when num_messages == 0
  std::size_t message_size = 100;  // value bytes, >= kPayloadHeaderSize
  std::uint64_t keys = 0;          // distinct keys cycled through; 0: no key
  int partitions = 0;              // create the topic with this many if absent; 0: do not create
  std::string acks = "1";          // 0, 1, all (-1)
  std::string compression = "none";
  double linger_ms = 5;
  std::uint64_t batch_bytes = 1'000'000;
  std::uint64_t batch_messages = 10'000;
  int instances = 1;
  double rate = 0;                 // msgs/s over all instances; 0: unlimited
  int timeout_ms = 10'000;         // connect/metadata, delivery and final flush bound
  int produce_batch = 1000;        // messages per rd_kafka_produce_batch call; 1: rd_kafka_produce
  ConfigMap extra;                 // -X key=value, applied last

  // Throws std::invalid_argument naming the bad option.
  void validate() const;
};

struct ProduceResult {
  std::uint64_t acked = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;  // value + key bytes of acked messages
  double elapsed_s = 0;     // first enqueue to last delivery report
  LatencyHistogram ack_latency;
  std::vector<std::uint32_t> run_ids;  // one per instance
  std::string first_error;

  double msgs_per_s() const { return elapsed_s > 0 ? static_cast<double>(acked) / elapsed_s : 0; }
  double mb_per_s() const { return elapsed_s > 0 ? static_cast<double>(bytes) / 1e6 / elapsed_s : 0; }
};

struct ProduceProgress {
  std::uint64_t enqueued = 0;
  std::uint64_t acked = 0;
  std::uint64_t failed = 0;
  double elapsed_s = 0;
};
using ProduceProgressFn = std::function<void(const ProduceProgress&)>;

class ProduceWorkload {
 public:
  explicit ProduceWorkload(ProduceOptions opts);
  // Throws std::runtime_error if the broker cannot be reached within the
  // timeout. `on_progress` (optional) is called on the calling thread about
  // every `progress_interval_s` while the workload runs.
  ProduceResult run(const ProduceProgressFn& on_progress = {}, double progress_interval_s = 1.0);

  struct Instance;  // one producer thread's state (producer.cc)

 private:
  void run_instance(Instance& in);

  ProduceOptions opts_;
  int partitions_ = 1;
};

// librdkafka settings the options translate to (exposed for tests).
ConfigMap producer_config(const ProduceOptions& o);

}  // namespace nocopy::perf
