// Runs `nocopy bench transfer|copy|small`: every (technique, size) sample,
// interleaved round by round (A B C A B C ...) so that drift on a noisy
// machine hits every technique alike.
//
// The calling thread is the sender: while run_bench() runs it is pinned to
// Options::sender_cpu (its previous affinity is restored on return); each
// sample's receiver is a thread pinned to Options::receiver_cpu.
//
// Setup failures (data file, bad options) throw; a technique that fails or
// that the kernel lacks becomes a Sample with status unavailable/failed, and
// the other techniques still run.
#pragma once

#include <string>
#include <vector>

#include "bench/options.h"
#include "bench/sample.h"

namespace nocopy::bench {

struct BenchResult {
  Options options;
  std::string command_line;         // as given by the caller (for the report)
  std::string data_file;
  bool data_file_created = false;
  std::uint64_t data_file_size = 0;
  int sender_cpu = -1;
  int receiver_cpu = -1;
  std::string kernel;               // uname -r
  std::string cpu_model;
  int online_cpus = 0;
  double wall_seconds = 0;
  std::vector<Sample> samples;      // in run order
  std::vector<Row> rows;            // per (size, technique), in Options order
};

BenchResult run_bench(const Options& opts, std::string command_line = {});

// Aggregates samples into rows (exposed for tests): medians per GiB, ratio
// to the sendfile row of the same size.
std::vector<Row> summarize_rows(const std::vector<Sample>& samples, const std::vector<Technique>& techniques,
                                const std::vector<std::uint64_t>& sizes);

}  // namespace nocopy::bench
