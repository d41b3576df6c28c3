// AdminThread: one background thread for work that may wait on the disk
// (creating and deleting topics, retention) so reactor threads never do.
// Tasks run in submission order; a task that needs to answer a client posts
// the answer back to the client's EventLoop.
//
// Thread-safety: submit() from any thread. stop() drains queued tasks, then
// joins; tasks submitted after stop() are dropped.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace nocopy::broker {

class AdminThread {
 public:
  AdminThread();
  ~AdminThread();
  AdminThread(const AdminThread&) = delete;
  AdminThread& operator=(const AdminThread&) = delete;

  void submit(std::function<void()> task);
  void stop();

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nocopy::broker
