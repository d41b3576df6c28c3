#include "bench/cpu_usage.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <system_error>

namespace nocopy::bench {

namespace {
double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }
}  // namespace

CpuUsage CpuUsage::this_thread() {
  rusage ru{};
  if (::getrusage(RUSAGE_THREAD, &ru) != 0) throw std::system_error(errno, std::generic_category(), "getrusage");
  return {seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_nvcsw, ru.ru_nivcsw};
}

bool pin_this_thread(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set) == 0;
}

namespace {
// The affinity of the thread that first asks, i.e. the process's set before
// the benchmark pins anything (sched_getaffinity(0) is per thread).
const cpu_set_t& process_cpus() {
  static const cpu_set_t set = [] {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (::sched_getaffinity(0, sizeof(s), &s) != 0) CPU_SET(0, &s);
    return s;
  }();
  return set;
}
}  // namespace

int allowed_cpu_count() {
  const cpu_set_t& set = process_cpus();
  return CPU_COUNT(&set);
}

int nth_allowed_cpu(int n) {
  const cpu_set_t& set = process_cpus();
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set) && n-- == 0) return cpu;
  }
  return -1;
}

}  // namespace nocopy::bench
