// Everything `nocopy bench transfer|copy|small` was asked to do, validated.
//
// Filled by the CLI (bench/cli.h) or directly by tests. validate() checks
// what the parser cannot (paths, sizes against a given file) and throws
// std::invalid_argument with a message meant for the user.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "bench/technique.h"

namespace nocopy::bench {

enum class CacheMode { warm, cold };

struct Options {
  Workload workload = Workload::transfer;
  std::vector<Technique> techniques;       // rows, in run order
  std::vector<std::uint64_t> sizes;        // transfer/copy: bytes per transfer; small: message sizes
  CacheMode cache = CacheMode::warm;       // cold: posix_fadvise(DONTNEED) before every sample
  int runs = 5;                            // interleaved rounds: A B C A B C ...
  std::size_t chunk = 64 << 10;            // read_write buffer, per-call cap of mmap paths
  std::size_t pipe_size = 1 << 20;         // splice rows without their own pipe size
  std::size_t recv_buffer = 256 << 10;     // receiver's reused buffer
  bool pin = true;                         // sender and receiver on different CPUs
  int sender_cpu = -1;                     // -1: first allowed CPU
  int receiver_cpu = -1;                   // -1: second allowed CPU (or unpinned with one CPU)
  std::uint64_t min_bytes = 64ull << 20;   // transfer/copy: repeat a small size up to this many bytes per sample
  std::uint64_t file_size = 1ull << 30;    // small: size of the file the messages are scattered over
  std::uint64_t messages = 100000;         // small: messages per sample (capped by --max-bytes)
  std::uint64_t max_bytes = 256ull << 20;  // small: cap on bytes per sample
  std::filesystem::path data_dir;          // where generated data files live (empty: default_data_dir())
  std::optional<std::filesystem::path> file;  // use this file instead of a generated one
  std::optional<std::filesystem::path> json;  // write every raw sample here
  std::optional<std::filesystem::path> svg;   // write a bar chart here
  bool verify = false;                     // receiver checksums the stream (generated files only)
  bool fsync = false;                      // copy: fdatasync the destination inside the timed region
  int progress = -1;                       // -1: when stderr is a TTY, 0: never, 1: always
  bool quiet = false;                      // no table on stdout (tests)

  void validate() const;
};

}  // namespace nocopy::bench
