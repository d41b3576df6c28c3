// ReplicaFetcher: one thread per leader broker that this broker follows
// partitions of. Each round:
//  1. one Fetch (v18: topics by id, replica_state = this node; v12 by name
//     while a topic's id is unknown here) for all of them from their log
//     ends, with the local log's latest leader epoch as last_fetched_epoch,
//     answered by the leader from its log end (not capped at its high
//     watermark) through its zero-copy fetch path; whole batches are appended
//     with the leader's offsets (PartitionLog::append_replicated) and the
//     local high watermark follows the leader's;
//  2. a diverging_epoch answer (the leader's log ends that epoch before our
//     log end) truncates the local log there -- or where that epoch ends
//     locally, when earlier -- and the next round fetches from the new end;
//  3. a partition that answer cannot settle, or whose fetch offset was out
//     of the leader's range, is reconciled with OffsetForLeaderEpoch (v3,
//     with this node's replica id) for its latest local epoch before it
//     fetches again. A fetch offset past the leader's log
//     (OFFSET_OUT_OF_RANGE) truncates to the leader's high watermark; one
//     below its log start restarts the local log there.
// Errors back off (ReplicaOptions::fetch_backoff_ms) and reconnect. The
// receive buffer is one frame, bounded by the fetch's max_bytes (and at most
// 96 MiB).
//
// Thread-safety: set_partitions / set_endpoint from any thread (the
// ReplicaManager, under its lock: they only take this fetcher's own mutex).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kafka/fetch.h"
#include "replication/leader_client.h"
#include "replication/partition_state.h"

namespace nocopy::log {
class PartitionLog;
}

namespace nocopy::replication {

class ReplicaManager;

class ReplicaFetcher {
 public:
  using Key = std::pair<std::string, std::int32_t>;
  ReplicaFetcher(ReplicaManager& mgr, std::int32_t leader_id);
  ~ReplicaFetcher();  // stops and joins
  ReplicaFetcher(const ReplicaFetcher&) = delete;
  ReplicaFetcher& operator=(const ReplicaFetcher&) = delete;

  void set_partitions(const std::vector<Key>& keys);
  void set_endpoint(std::optional<BrokerEndpoint> ep);

  struct Stats {
    std::uint64_t fetches = 0;
    std::uint64_t bytes = 0;
    std::uint64_t truncations = 0;
  };
  Stats stats() const;

 private:
  struct Part {
    std::int32_t epoch = -1;       // leader epoch it was reconciled in (-1: not yet)
    bool ask_epochs = false;       // reconcile with OffsetForLeaderEpoch before fetching
  };
  struct Asked {
    std::int32_t leader_epoch = -1;        // the leader epoch it was fetched in
    std::int32_t last_fetched_epoch = -1;  // the local log's latest epoch sent
  };
  void run();
  bool reconcile(const std::vector<Key>& keys);  // OffsetForLeaderEpoch + truncation
  bool fetch(const std::vector<Key>& keys);      // one Fetch round
  // One partition of a Fetch answer; false on an error for it.
  bool take(const Key& k, log::PartitionLog& log, const kafka::FetchResponse::PartitionData& p,
            std::int32_t last_fetched_epoch);
  // A truncation a reconcile answer calls for; false when none was needed.
  bool truncate_divergent(const Key& k, log::PartitionLog& log, std::int32_t asked, std::int32_t epoch,
                          std::int64_t end_offset);
  // Reconciled in `epoch`; -1: again, with OffsetForLeaderEpoch.
  void mark(const Key& k, std::int32_t epoch);
  // Whether `k` is still followed from this leader in `epoch` (a fetch answer
  // for it may be applied).
  bool still_following(const Key& k, std::int32_t epoch) const;
  void backoff();

  ReplicaManager& mgr_;
  const std::int32_t leader_id_;
  LeaderClient client_;
  std::vector<std::byte> frame_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<Key, Part> parts_;              // under mu_
  std::optional<BrokerEndpoint> endpoint_;  // under mu_
  bool endpoint_changed_ = false;          // under mu_
  Stats stats_;                            // under mu_
  std::thread thread_;
};

}  // namespace nocopy::replication
