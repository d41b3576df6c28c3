// CPU time and context switches of one thread, from getrusage(RUSAGE_THREAD).
//
// Take a snapshot on the measured thread before and after the work and
// subtract; a snapshot taken on another thread measures that other thread.
#pragma once

#include <cstdint>

namespace nocopy::bench {

struct CpuUsage {
  double user_s = 0;
  double sys_s = 0;
  std::int64_t voluntary_switches = 0;    // ru_nvcsw: the thread blocked
  std::int64_t involuntary_switches = 0;  // ru_nivcsw: the scheduler preempted it

  static CpuUsage this_thread();  // throws std::system_error("getrusage")

  CpuUsage operator-(const CpuUsage& o) const {
    return {user_s - o.user_s, sys_s - o.sys_s, voluntary_switches - o.voluntary_switches,
            involuntary_switches - o.involuntary_switches};
  }
};

// Pins the calling thread to `cpu`. Returns false (and leaves the affinity
// unchanged) when the CPU is not in the process's allowed set.
bool pin_this_thread(int cpu);

// CPUs this process may run on, ascending.
int allowed_cpu_count();
int nth_allowed_cpu(int n);  // -1 when there is no n-th CPU

}  // namespace nocopy::bench
