// `nocopy perf compare`: one broker, one data set, every fetch technique.
//
// 1. Starts `<broker_bin> broker` as a child process (BrokerProcess) on
//    127.0.0.1 with free ports for Kafka and /metrics and a fresh data dir.
// 2. Loads one topic once (ProduceWorkload) and charges the broker for it:
//    CPU seconds per GB ingested.
// 3. For `rounds` rounds, for every strategy (order rotated each round so
//    no technique always runs first or after the same one): restarts the
//    broker with --fetch-strategy X on the same data dir, consumes the whole
//    topic (run_consume, exact count), and samples the broker's /proc and
//    /metrics before and after: consumer MB/s, broker CPU s/GB served,
//    context switches/GB, user-space bytes copied per byte served. A round
//    that does not deliver every message and byte is marked failed.
// 4. Produce cost per flush policy (never / interval = group commit /
//    every batch): restarts the broker with --flush P and produces a fresh
//    topic, reporting msgs/s, MB/s, ack p99 and broker CPU s/GB ingested.
//
// Results are medians over rounds with min/max; rendered as a table, JSON
// and an SVG chart.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nocopy::perf {

struct CompareOptions {
  std::string broker_bin;  // default: this executable (/proc/self/exe)
  std::vector<std::string> broker_args;  // extra flags for `nocopy broker`
  std::vector<std::string> strategies{"sendfile", "splice", "mmap_write", "read_write"};
  int rounds = 3;
  std::uint64_t data_bytes = 256ull << 20;  // topic size to load
  std::size_t message_size = 1024;
  int partitions = 4;
  int consumers = 1;
  int producers = 1;
  std::vector<std::string> flush_policies{"never", "interval", "every"};
  std::uint64_t flush_bytes = 32ull << 20;  // bytes produced per flush policy
  int timeout_ms = 20'000;
  std::string data_dir;  // default: a fresh mkdtemp under $TMPDIR or /tmp
  bool keep_data = false;
  bool quiet = false;

  void validate() const;  // throws std::invalid_argument
};

struct TechniqueRound {
  std::string strategy;
  int round = 0;
  bool delivered_all = false;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;          // consumer-side value bytes
  std::uint64_t bytes_served = 0;   // broker nocopy_fetch_bytes_total delta
  double consumer_mb_s = 0;
  double cpu_s = 0;
  std::uint64_t ctx_switches = 0;
  double copied_user = 0;           // broker nocopy_send_bytes_copied_user_total delta
  double cpu_s_per_gb() const;
  double ctx_per_gb() const;
  double copied_per_byte() const;
};

struct ProduceCost {
  std::string flush;
  std::uint64_t messages = 0;
  std::uint64_t failed = 0;
  double msgs_per_s = 0;
  double mb_per_s = 0;
  double ack_p50_us = 0;
  double ack_p99_us = 0;
  double cpu_s = 0;
  double bytes_ingested = 0;  // broker nocopy_produce_bytes_total delta
  double cpu_s_per_gb() const { return bytes_ingested > 0 ? cpu_s / (bytes_ingested / 1e9) : 0; }
};

struct CompareResult {
  std::uint64_t messages = 0;  // in the loaded topic
  std::uint64_t bytes = 0;
  ProduceCost load;            // the initial load (flush policy never)
  std::vector<TechniqueRound> rounds;
  std::vector<ProduceCost> flush;
  bool all_delivered() const;

  nlohmann::json to_json(const CompareOptions& o) const;
  std::string table() const;
  std::string svg() const;
};

CompareResult run_compare(const CompareOptions& o);

// Median of a non-empty list (exposed for tests).
double median(std::vector<double> v);

}  // namespace nocopy::perf
