#include "net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using nocopy::net::EventLoop;

TEST(EventLoop, PostFromAnotherThreadRunsOnLoopThread) {
  EventLoop loop;
  std::promise<std::thread::id> ran_on;
  std::thread t([&] { loop.run(); });
  std::thread poster([&] {
    loop.post([&] {
      EXPECT_TRUE(loop.in_loop_thread());
      ran_on.set_value(std::this_thread::get_id());
    });
  });
  auto f = ran_on.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), t.get_id());
  poster.join();
  loop.stop();
  t.join();
}

TEST(EventLoop, ManyPostersAllTasksRunExactlyOnce) {
  EventLoop loop;
  std::thread t([&] { loop.run(); });
  constexpr int kThreads = 4, kPer = 2000;
  std::atomic<int> count{0};
  std::vector<std::thread> ps;
  for (int i = 0; i < kThreads; ++i)
    ps.emplace_back([&] {
      for (int j = 0; j < kPer; ++j) loop.post([&] { count.fetch_add(1, std::memory_order_relaxed); });
    });
  for (auto& p : ps) p.join();
  std::promise<void> done;
  loop.post([&] { done.set_value(); });  // FIFO per poster: runs after this thread's posts
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  loop.stop();
  t.join();
  EXPECT_EQ(count.load(), kThreads * kPer);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCancelWorks) {
  // Before the loop exists: run_after() counts from the loop's cached now(),
  // set when it was constructed (a start taken after that could be up to a
  // construction's time late and see the 40 ms timer fire "early").
  auto start = std::chrono::steady_clock::now();
  EventLoop loop;
  std::vector<int> order;
  loop.run_after(30ms, [&] { order.push_back(3); });
  loop.run_after(10ms, [&] { order.push_back(1); });
  auto id = loop.run_after(20ms, [&] { order.push_back(2); });
  loop.run_after(40ms, [&] {
    order.push_back(4);
    loop.stop();
  });
  EXPECT_TRUE(loop.cancel(id));
  EXPECT_FALSE(loop.cancel(id));
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 3, 4}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
}

TEST(EventLoop, FdCallbackAndRemoveInsideCallback) {
  EventLoop loop;
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  int calls = 0;
  loop.add(efd, EPOLLIN, [&](std::uint32_t ev) {
    EXPECT_TRUE(ev & EPOLLIN);
    ++calls;
    loop.remove(efd);  // destroying our own callback must be safe
    loop.run_after(5ms, [&] { loop.stop(); });
  });
  std::uint64_t one = 1;
  ASSERT_EQ(::write(efd, &one, sizeof one), 8);
  loop.run();
  EXPECT_EQ(calls, 1);  // level-triggered + still readable, but removed
  EXPECT_EQ(loop.events_of(efd), 0u);
  ::close(efd);
}

TEST(EventLoop, ModifyToZeroStopsCallbacks) {
  EventLoop loop;
  int efd = ::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);  // readable from the start
  int calls = 0;
  loop.add(efd, EPOLLIN, [&](std::uint32_t) {
    if (++calls == 3) loop.modify(efd, 0);  // backpressure: stop reading, data stays
  });
  loop.run_after(30ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(calls, 3);
  loop.remove(efd);
  ::close(efd);
}

TEST(EventLoop, AddTwiceThrows) {
  EventLoop loop;
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  loop.add(efd, EPOLLIN, [](std::uint32_t) {});
  EXPECT_THROW(loop.add(efd, EPOLLIN, [](std::uint32_t) {}), std::system_error);
  loop.remove(efd);
  ::close(efd);
}

TEST(EventLoop, StopFromOtherThreadWhileIdle) {
  EventLoop loop;
  std::thread t([&] { loop.run(); });
  std::this_thread::yield();
  loop.stop();
  t.join();  // would hang if stop() did not wake epoll_wait
  SUCCEED();
}
