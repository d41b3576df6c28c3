// ReportWaiter: paced waits that still serve delivery reports the moment
// they arrive. librdkafka writes a byte to a pipe when its main queue (where
// delivery reports go) gets an event; wait_until() sleeps in ppoll() on that
// pipe with a nanosecond timeout and calls rd_kafka_poll(rk, 0) on each wake.
// rd_kafka_poll()'s millisecond timeout cannot wait for a sub-millisecond
// slot, and a plain sleep would hold a report until the slot ends (every ack
// would read as about one slot interval).
//
// One per rd_kafka_t, used by the thread that polls it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>

namespace nocopy::perf {

class ReportWaiter {
 public:
  explicit ReportWaiter(rd_kafka_t* rk);  // throws std::runtime_error if no pipe
  ~ReportWaiter();
  ReportWaiter(const ReportWaiter&) = delete;
  ReportWaiter& operator=(const ReportWaiter&) = delete;

  // Serves delivery reports (rd_kafka_poll) as they arrive until
  // monotonic_ns() >= target_ns; returns at once if that time has passed.
  void wait_until(std::uint64_t target_ns);

 private:
  void drain();

  rd_kafka_t* rk_;
  rd_kafka_queue_t* queue_ = nullptr;
  int fds_[2] = {-1, -1};
};

}  // namespace nocopy::perf
