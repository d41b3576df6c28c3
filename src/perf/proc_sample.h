// ProcSample: CPU time, context switches and resident memory of a process,
// read from /proc. Used by `perf compare` to charge the broker for the bytes
// it served: take a sample before and after a workload and subtract.
//
// - cpu: utime + stime from /proc/<pid>/stat (whole thread group, including
//   threads that already exited), in seconds.
// - context switches: voluntary + nonvoluntary summed over
//   /proc/<pid>/task/*/status (per-thread counters; switches of threads that
//   exited between samples are lost -- the broker's threads are long-lived).
// - on-CPU nanoseconds: the first field of /proc/<pid>/task/*/schedstat summed
//   over threads; nanosecond resolution where utime/stime tick at 10 ms, so
//   cpu_s() prefers it when the kernel provides it (CONFIG_SCHEDSTATS).
// - rss: VmRSS from /proc/<pid>/status.
//
// Throws std::system_error naming the path if the process is gone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

namespace nocopy::perf {

struct ProcSample {
  double user_s = 0;
  double system_s = 0;
  std::uint64_t voluntary_ctx = 0;
  std::uint64_t involuntary_ctx = 0;
  std::uint64_t rss_bytes = 0;
  std::uint64_t sched_cpu_ns = 0;  // 0 if schedstat is unavailable
  bool have_sched = false;

  double cpu_s() const { return have_sched ? static_cast<double>(sched_cpu_ns) / 1e9 : user_s + system_s; }
  std::uint64_t ctx_switches() const { return voluntary_ctx + involuntary_ctx; }

  static ProcSample of(pid_t pid);
};

ProcSample operator-(const ProcSample& after, const ProcSample& before);

// Parsing helpers, exposed for tests.
// The contents of /proc/<pid>/stat -> utime, stime in clock ticks. The command
// name (field 2) may contain spaces and parentheses; parsing starts after the
// last ')'. Returns false if the text is malformed.
bool parse_proc_stat(std::string_view text, std::uint64_t& utime_ticks, std::uint64_t& stime_ticks);
// A "Key:   value" line from /proc/<pid>/status; 0 if absent. "kB" values are
// returned in kB (caller scales).
std::uint64_t parse_status_field(std::string_view text, std::string_view key);

}  // namespace nocopy::perf
