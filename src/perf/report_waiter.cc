#include "perf/report_waiter.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

#include "perf/payload.h"

namespace nocopy::perf {

ReportWaiter::ReportWaiter(rd_kafka_t* rk) : rk_(rk) {
  if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  queue_ = rd_kafka_queue_get_main(rk);
  rd_kafka_queue_io_event_enable(queue_, fds_[1], "1", 1);
}

ReportWaiter::~ReportWaiter() {
  rd_kafka_queue_io_event_enable(queue_, -1, nullptr, 0);
  rd_kafka_queue_destroy(queue_);
  ::close(fds_[0]);
  ::close(fds_[1]);
}

void ReportWaiter::wait_until(std::uint64_t target_ns) {
  for (std::uint64_t now = monotonic_ns(); now < target_ns; now = monotonic_ns()) {
    const std::uint64_t left = target_ns - now;
    const timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    pollfd pfd{fds_[0], POLLIN, 0};
    const int r = ::ppoll(&pfd, 1, &ts, nullptr);
    if (r < 0 && errno != EINTR) throw std::runtime_error(std::string("ppoll: ") + std::strerror(errno));
    if (r > 0) drain();  // before polling: an event after this wakes the next ppoll
    rd_kafka_poll(rk_, 0);
  }
}

void ReportWaiter::drain() {
  char sink[64];
  for (;;) {
    const ssize_t n = ::read(fds_[0], sink, sizeof sink);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    return;  // EAGAIN: empty (0 cannot happen while the write end is open)
  }
}

}  // namespace nocopy::perf
