// One measured run of one technique, and the aggregated row of the table.
#pragma once

#include <cstdint>
#include <string>

#include "bench/cpu_usage.h"
#include "bench/stats.h"
#include "io/counters.h"

namespace nocopy::bench {

struct Sample {
  std::string technique;      // Technique::name
  std::string strategy;       // io strategy actually used ("" for reference rows)
  std::uint64_t size = 0;     // transfer/copy: bytes per transfer; small: message size
  int run = 0;                // 0-based round
  enum class Status { ok, unavailable, failed } status = Status::ok;
  std::string note;           // unavailable/failed reason, or the fallback the io layer took

  std::uint64_t bytes_requested = 0;
  std::uint64_t bytes_sent = 0;      // what the sender's calls reported moved
  std::uint64_t bytes_received = 0;  // what the receiver got (transfer/small) or the destination holds (copy)
  std::uint64_t transfers = 0;       // repetitions (transfer/copy) or messages (small)
  double seconds = 0;                // first send -> last byte received
  CpuUsage sender;
  CpuUsage receiver;
  std::uint64_t receiver_syscalls = 0;
  io::Counters counters;             // sender's io counters for the sample
  bool verified = false;             // receiver checksum matched the source

  double gbps() const { return seconds > 0 ? static_cast<double>(bytes_received) / seconds / 1e9 : 0; }
};

inline const char* to_string(Sample::Status s) {
  switch (s) {
    case Sample::Status::ok: return "ok";
    case Sample::Status::unavailable: return "unavailable";
    case Sample::Status::failed: return "failed";
  }
  return "?";
}

// All samples of one (technique, size), summarized per GiB moved.
struct Row {
  std::string technique;
  std::string strategy;
  std::uint64_t size = 0;
  Sample::Status status = Sample::Status::ok;  // unavailable/failed if any sample was
  std::string note;
  Summary gbps;
  Summary msgs_per_s;               // small: messages per second
  double ratio_to_sendfile = 0;     // median / median of sendfile at the same size (0: none)
  double ratio_to_bare = 0;         // filled by callers that know the bare loop's figure
  // Medians of per-sample values normalized per GiB moved:
  double sender_user_per_gib = 0, sender_sys_per_gib = 0;
  double receiver_user_per_gib = 0, receiver_sys_per_gib = 0;
  double vcsw_per_gib = 0, ivcsw_per_gib = 0;   // sender + receiver
  double syscalls_per_gib = 0;                  // sender's, from io counters
  double receiver_syscalls_per_gib = 0;
  double copied_per_byte = 0;                   // bytes_copied_user / bytes_sent
  std::uint64_t fallbacks = 0;                  // summed over samples
  std::uint64_t zc_completions = 0, zc_copied = 0;
};

}  // namespace nocopy::bench
