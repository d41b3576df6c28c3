#include "perf/report_waiter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "perf/payload.h"

namespace nocopy::perf {
namespace {

std::vector<std::uint64_t> g_served;  // monotonic_ns() when each delivery report was served

void on_delivery(rd_kafka_t*, const rd_kafka_message_t*, void*) { g_served.push_back(monotonic_ns()); }

// A producer whose messages fail after message.timeout.ms (no broker listens
// on port 1), which makes librdkafka deliver reports at a time we do not choose.
rd_kafka_t* unreachable_producer() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  for (auto [k, v] : {std::pair{"bootstrap.servers", "127.0.0.1:1"}, {"message.timeout.ms", "100"},
                      {"log_level", "0"}}) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k, v, err, sizeof err), RD_KAFKA_CONF_OK) << err;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return rk;
}

}  // namespace

TEST(ReportWaiter, ServesReportsDuringTheWaitNotAfterIt) {
  rd_kafka_t* rk = unreachable_producer();
  int served_inside = 0;
  {
    ReportWaiter waiter(rk);
    for (int trial = 0; trial < 3; ++trial) {
      g_served.clear();
      ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_VALUE(const_cast<char*>("x"), 1),
                                  RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      // 200 ms slots until the report comes (librdkafka times messages out
      // within a few seconds). A waiter that slept through its slot and then
      // polled would serve every report at or after the slot's end.
      const std::uint64_t give_up = monotonic_ns() + 10'000'000'000ull;
      while (g_served.empty() && monotonic_ns() < give_up) {
        const std::uint64_t slot_end = monotonic_ns() + 200'000'000;
        waiter.wait_until(slot_end);
        EXPECT_GE(monotonic_ns(), slot_end);  // never returns early
        if (!g_served.empty() && g_served.front() < slot_end) ++served_inside;
      }
      ASSERT_EQ(g_served.size(), 1u) << "no delivery report within 10 s";
    }
  }
  rd_kafka_destroy(rk);
  EXPECT_GE(served_inside, 2) << "delivery reports were served only when the waits ended";
}

TEST(ReportWaiter, PastTargetReturnsAtOnce) {
  rd_kafka_t* rk = unreachable_producer();
  {
    ReportWaiter waiter(rk);
    const std::uint64_t t0 = monotonic_ns();
    waiter.wait_until(t0 - 1);
    waiter.wait_until(0);
    EXPECT_LT(monotonic_ns() - t0, 50'000'000u);
  }
  rd_kafka_destroy(rk);
}

}  // namespace nocopy::perf
