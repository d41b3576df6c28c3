// Consume workload: `nocopy perf consume`, on librdkafka's C API.
//
// Uses the simple (partition-assigned) consumer: each of `instances` threads
// owns one rd_kafka_t, starts the partitions p with p % instances == its
// index from the beginning of the log onto one queue, and drains it with
// rd_kafka_consume_batch_queue. No consumer group is needed, so the workload
// only exercises Metadata, ListOffsets and Fetch.
//
// Every message value is decoded as a PayloadHeader: the (run id, sequence)
// goes to a SequenceTracker (exact missing/duplicate counts) and the
// timestamp gives end-to-end latency (produce enqueue -> receipt, both
// CLOCK_REALTIME on this host). Values this tool did not write are counted in
// `foreign`.
//
// Stops when `num_messages` have been received (exactly that many are
// counted, even if the log holds more), when `duration_s` elapses, or when no
// message has arrived for `idle_timeout_ms`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "perf/kafka_client.h"
#include "perf/latency_histogram.h"
#include "perf/sequence_tracker.h"

namespace nocopy::perf {

struct ConsumeOptions {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "perf";
  std::uint64_t num_messages = 0;  // expected count; 0: until duration / idle
  double duration_s = 0;
  int instances = 1;
  int timeout_ms = 10'000;       // metadata bound
  int idle_timeout_ms = 5'000;   // stop after this long without a message
  std::uint64_t fetch_max_bytes = 52'428'800;
  std::uint64_t partition_fetch_bytes = 1'048'576;
  std::uint64_t queued_max_kbytes = 65'536;
  ConfigMap extra;

  void validate() const;  // throws std::invalid_argument
};

struct ConsumeResult {
  std::uint64_t messages = 0;  // counted messages (<= num_messages when given)
  std::uint64_t bytes = 0;     // value + key bytes of counted messages
  std::uint64_t foreign = 0;   // values without a perf header
  std::uint64_t missing = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t errors = 0;    // consumer errors (other than partition EOF)
  std::string first_error;
  double elapsed_s = 0;        // start of fetching to last counted message
  bool idle_timeout = false;   // stopped because nothing arrived
  LatencyHistogram e2e_latency;

  double msgs_per_s() const { return elapsed_s > 0 ? static_cast<double>(messages) / elapsed_s : 0; }
  double mb_per_s() const { return elapsed_s > 0 ? static_cast<double>(bytes) / 1e6 / elapsed_s : 0; }
};

struct ConsumeProgress {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  double elapsed_s = 0;
};
using ConsumeProgressFn = std::function<void(const ConsumeProgress&)>;

// Throws std::runtime_error if the broker or topic is not there within timeout_ms.
ConsumeResult run_consume(const ConsumeOptions& opts, const ConsumeProgressFn& on_progress = {},
                          double progress_interval_s = 1.0);

ConfigMap consumer_config(const ConsumeOptions& o);

}  // namespace nocopy::perf
