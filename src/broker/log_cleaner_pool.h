// LogCleanerPool: the broker's log cleaner threads (Kafka's LogCleaner with
// log.cleaner.threads CleanerThreads). Each thread repeatedly picks the
// dirtiest eligible partition of a topic whose cleanup.policy holds
// `compact`, cleans it with log::LogCleaner (on its own thread, never a
// reactor), and records how far it cleaned in the cleaner checkpoint
// (CleanerCheckpoint: `<data_dir>/cleaner-offset-checkpoint`, written after
// every clean, read at start so a restart resumes where cleaning stopped).
//
// Eligibility of a partition, from its sealed segments (the active segment
// is never cleaned) and its checkpoint offset C:
//   clean bytes  = segments wholly below C;
//   dirty bytes  = the segments after them, up to the first one holding a
//                  record younger than min.compaction.lag.ms;
//   dirty ratio  = dirty / (clean + dirty).
// A partition is eligible when it has dirty bytes and its ratio is at least
// min.cleanable.dirty.ratio, or when its oldest dirty segment's first
// record is older than max.compaction.lag.ms (Kafka's rule). An active
// segment whose first record is older than max.compaction.lag.ms is rolled
// at the pick, so it becomes cleanable without waiting for segment.bytes
// or another append. Ongoing transactions are left alone: a clean stops
// below the partition's last stable offset, and is given the partition's
// aborted transactions (removed with their markers, log_cleaner.h). Among the eligible ones the
// highest ratio is cleaned first; a partition is cleaned by one thread at a
// time. A clean that fails is logged and its partition skipped for
// log.cleaner.backoff.ms. A checkpoint above the log's end (the topic was
// deleted and created again) counts as 0.
//
// A clean builds its offset map from C on (log::CleanerConfig::
// first_dirty_offset) within log.cleaner.dedupe.buffer.size / threads bytes,
// and the checkpoint becomes the end the map reached.
//
// log.cleaner.io.max.bytes.per.second is shared: each thread reads at most
// rate / threads. Topic configs are read at every pick (TopicRegistry), so a
// cleanup.policy or lag changed by AlterConfigs applies at the next pick.
// cleanup.policy=compact without delete also turns off the retention pass's
// segment deletion (Broker); compact,delete runs both.
//
// Thread-safety: start/stop from the owner's thread; clean_once() from any
// thread (tests); the rest is internal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/cleaner_checkpoint.h"
#include "broker/config.h"
#include "broker/topic_registry.h"

namespace nocopy::broker {

class Metrics;

class LogCleanerPool {
 public:
  // `cfg` is the broker's (threads, I/O rate, backoff, data_dir); topic
  // settings come from each topic's effective Config.
  LogCleanerPool(const Config& cfg, TopicRegistry& topics, Metrics* metrics);
  ~LogCleanerPool();
  LogCleanerPool(const LogCleanerPool&) = delete;
  LogCleanerPool& operator=(const LogCleanerPool&) = delete;

  // Reads the checkpoint (a malformed file is logged and treated as empty)
  // and starts cfg.cleaner_threads threads (none when 0).
  void start();
  // Cancels the cleans in progress (between batches; the group being written
  // is dropped, swapped groups stay) and joins the threads. Idempotent.
  void stop();
  // Ends the idle threads' sleep (e.g. after a config change).
  void wake();

  // Picks and cleans one partition on the calling thread; false when no
  // partition was eligible. `now_ms` replaces the wall clock (tests).
  bool clean_once(std::optional<std::int64_t> now_ms = std::nullopt);

  // The checkpoint offset of a partition (0 when none).
  std::int64_t checkpoint(const std::string& topic, std::int32_t partition) const;

  struct Eligibility {
    std::uint64_t clean_bytes = 0;
    std::uint64_t dirty_bytes = 0;
    double ratio = 0;
    bool forced = false;    // max.compaction.lag.ms passed
    bool eligible = false;
  };
  // How a partition with checkpoint offset `checkpoint` stands under `cfg` at `now_ms`.
  static Eligibility assess(log::PartitionLog& log, const Config& cfg, std::int64_t checkpoint, std::int64_t now_ms);

 private:
  struct Pick {
    std::shared_ptr<Partition> partition;
    std::shared_ptr<const Config> config;
    CleanerCheckpoint::Key key;
    Eligibility why;
    std::int64_t first_dirty = 0;  // the checkpoint offset
  };
  std::optional<Pick> pick(std::int64_t now_ms);
  // Rolls `log` when its active segment's first record is older than the
  // topic's max.compaction.lag.ms; true when it did.
  static bool roll_if_lagging(log::PartitionLog& log, const Config& cfg, std::int64_t now_ms);
  void clean(const Pick& p, std::int64_t now_ms, bool use_clock);
  void save_checkpoint();
  void run();

  const Config& cfg_;
  TopicRegistry& topics_;
  Metrics* metrics_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  CleanerCheckpoint::Offsets checkpoints_;                        // guarded by mu_
  std::set<CleanerCheckpoint::Key> in_progress_;                  // guarded by mu_
  std::map<CleanerCheckpoint::Key, std::int64_t> failed_until_;   // guarded by mu_ (steady ms)
  std::mutex save_mu_;                                            // one checkpoint write at a time
  std::vector<std::thread> threads_;
  bool woken_ = false;                                            // guarded by mu_
};

}  // namespace nocopy::broker
