// CoordinatorLoader: the loader thread of a coordinator topic in cluster mode
// (__consumer_offsets for GroupsService, __transaction_state for
// TxnService). The service asks for a partition to be loaded in a leader
// epoch (enqueue(), from leadership()); the loader thread, one partition at
// a time, waits until the partition's log exists here and the replication
// layer has made this broker its leader (at least in that epoch when
// `require_view_epoch`), then hands the partition to the service's `load`
// hook, which replays it into a new coordinator and installs it if it is
// still wanted. While `wanted(p, epoch)` is false (the shard was unloaded,
// loaded already, or asked for in a newer epoch) the load is dropped; after
// 60 s without a loadable partition it is given up with an error log.
//
// Thread-safety: enqueue() and stop() from any thread. The hooks run on the
// loader thread, with no lock of the loader held, so they may take the
// service's lock (which enqueue() callers may hold).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace nocopy::replication {
class ReplicaManager;
}

namespace nocopy::broker {

class Partition;
class TopicRegistry;

class CoordinatorLoader {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    std::string topic;  // the coordinator topic
    std::string name;   // log prefix: "groups", "transactions"
    TopicRegistry* topics = nullptr;
    replication::ReplicaManager* replicas = nullptr;
    // The replication layer's view must be in the requested epoch or later.
    bool require_view_epoch = false;
    // Whether the service still wants partition `p` loaded in `epoch`.
    std::function<bool(std::int32_t p, std::int32_t epoch)> wanted;
    // Replays `part` into a coordinator and installs it if still wanted;
    // `started` is when the load began (for the log line).
    std::function<void(std::shared_ptr<Partition> part, std::int32_t p, std::int32_t epoch, Clock::time_point started)>
        load;
  };

  explicit CoordinatorLoader(Hooks hooks);
  ~CoordinatorLoader();
  CoordinatorLoader(const CoordinatorLoader&) = delete;
  CoordinatorLoader& operator=(const CoordinatorLoader&) = delete;

  // Queues a load of partition `p` in leader epoch `epoch`.
  void enqueue(std::int32_t p, std::int32_t epoch);
  // Ends the thread (a load under way stops at its next wait).
  void stop();

 private:
  void run();
  void load_one(std::int32_t p, std::int32_t epoch);

  const Hooks hooks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::int32_t, std::int32_t>> queue_;  // (partition, leader epoch), guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace nocopy::broker
