#include "perf/proc_sample.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <system_error>

#include "perf/payload.h"

namespace nocopy::perf {

TEST(ProcSample, ParsesStatWithNastyCommandName) {
  const std::string stat =
      "1234 (a) b (c) R 1 1234 1234 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 3 0 1000 1000000 200 18446744073709551615\n";
  std::uint64_t u = 0, s = 0;
  ASSERT_TRUE(parse_proc_stat(stat, u, s));
  EXPECT_EQ(u, 250u);
  EXPECT_EQ(s, 75u);
  EXPECT_FALSE(parse_proc_stat("1234 (x) R 1 2", u, s));
  EXPECT_FALSE(parse_proc_stat("garbage", u, s));
}

TEST(ProcSample, ParsesStatusFields) {
  const std::string status = "Name:\tnocopy\nVmRSS:\t   12345 kB\nvoluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches:\t3\n";
  EXPECT_EQ(parse_status_field(status, "VmRSS"), 12345u);
  EXPECT_EQ(parse_status_field(status, "voluntary_ctxt_switches"), 17u);
  EXPECT_EQ(parse_status_field(status, "nonvoluntary_ctxt_switches"), 3u);
  EXPECT_EQ(parse_status_field(status, "VmHWM"), 0u);
}

TEST(ProcSample, SelfSampleSeesCpuAndContextSwitches) {
  const ProcSample before = ProcSample::of(::getpid());
  // Burn 150 ms of this thread's CPU time (however long that takes on a busy
  // machine), then block a few times (voluntary switches).
  auto thread_cpu_ns = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
  };
  volatile std::uint64_t x = 0;
  const auto until = thread_cpu_ns() + 150'000'000;
  while (thread_cpu_ns() < until) x = x + 1;
  for (int i = 0; i < 5; ++i) ::usleep(1000);
  const ProcSample d = ProcSample::of(::getpid()) - before;
  EXPECT_GE(d.cpu_s(), 0.12);
  EXPECT_LE(d.cpu_s(), 5.0);
  EXPECT_GE(d.voluntary_ctx, 5u);
  EXPECT_GT(d.rss_bytes, 1u << 20);
  if (d.have_sched) {
    // Thread on-CPU time agrees with the tick-based utime+stime (10 ms ticks).
    EXPECT_NEAR(static_cast<double>(d.sched_cpu_ns) / 1e9, d.user_s + d.system_s, 0.05);
  }
}

TEST(ProcSample, GoneProcessThrows) {
  EXPECT_THROW(ProcSample::of(0x3fffffff), std::system_error);
}

}  // namespace nocopy::perf
