// What one benchmark row measures: an io::Strategy (with its pipe size for
// splice) or one of the reference rows that bound what this machine can do.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "io/strategy.h"

namespace nocopy::bench {

enum class Workload { transfer, copy, small };

struct Technique {
  enum class Kind {
    strategy,    // an io strategy
    memcpy_ref,  // memcpy between two user buffers larger than the LLC: memory bandwidth
    send_ref,    // send() from a reused 1 MiB user buffer: the socket path's limit
  };
  Kind kind = Kind::strategy;
  io::Strategy strategy = io::Strategy::sendfile;
  std::size_t pipe_size = 0;  // splice/uring_splice: F_SETPIPE_SZ; 0 = the run's --pipe-size
  std::string name;           // row label: "sendfile", "splice:64K", "memcpy", "send"

  bool is_reference() const { return kind != Kind::strategy; }
};

// Parses a comma-separated list: "all", io strategy names (sendfile, splice,
// ...), "splice:64K" (a splice row with its own pipe size), and the
// reference rows "memcpy" and "send" (transfer and small only). Throws
// std::invalid_argument naming the bad element and the valid names.
std::vector<Technique> parse_techniques(std::string_view text, Workload w, std::size_t default_pipe_size);

// Every row the workload runs by default.
std::vector<Technique> default_techniques(Workload w, std::size_t default_pipe_size);

// The seeds' theoretical table (seeds/000: copies, context switches per
// read+send round), for the strategies it covers; empty strings otherwise.
struct SeedTheory {
  const char* cpu_copies = "";
  const char* dma_copies = "";
  const char* context_switches = "";
  const char* syscalls = "";
};
SeedTheory seed_theory(const Technique& t);

std::string workload_name(Workload w);

}  // namespace nocopy::bench
