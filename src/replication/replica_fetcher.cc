#include "replication/replica_fetcher.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "kafka/uuid.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "replication/replica_manager.h"

namespace nocopy::replication {

namespace {
// Topics by id, last_fetched_epoch, replica_state; v12 (by name) when a
// topic's id is not known here.
constexpr std::int16_t kFetchVersion = 18;
constexpr std::int16_t kFetchByNameVersion = 12;
constexpr std::int16_t kEpochVersion = 3;  // the first with replica_id
constexpr int kConnectTimeoutMs = 3000;
constexpr int kCallTimeoutMs = 10000;  // beyond the fetch's own max wait
constexpr int kIdleWaitMs = 200;

template <class Topics>
auto& topic_entry(Topics& topics, const std::string& name) {
  auto t = std::find_if(topics.begin(), topics.end(), [&](const auto& x) { return x.topic == name; });
  if (t != topics.end()) return *t;
  auto& added = topics.emplace_back();
  added.topic = name;
  return added;
}
}  // namespace

ReplicaFetcher::ReplicaFetcher(ReplicaManager& mgr, std::int32_t leader_id) : mgr_(mgr), leader_id_(leader_id) {
  thread_ = std::thread([this] { run(); });
}

ReplicaFetcher::~ReplicaFetcher() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReplicaFetcher::set_partitions(const std::vector<Key>& keys) {
  {
    std::lock_guard lk(mu_);
    std::map<Key, Part> next;
    for (const Key& k : keys) {
      auto it = parts_.find(k);
      next[k] = it == parts_.end() ? Part{} : it->second;
    }
    parts_ = std::move(next);
  }
  cv_.notify_all();
}

void ReplicaFetcher::set_endpoint(std::optional<BrokerEndpoint> ep) {
  {
    std::lock_guard lk(mu_);
    if (ep == endpoint_) return;
    endpoint_ = std::move(ep);
    endpoint_changed_ = true;
  }
  cv_.notify_all();
}

ReplicaFetcher::Stats ReplicaFetcher::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void ReplicaFetcher::mark(const Key& k, std::int32_t epoch) {
  std::lock_guard lk(mu_);
  if (auto it = parts_.find(k); it != parts_.end()) {
    it->second.epoch = epoch;
    if (epoch < 0) it->second.ask_epochs = true;
    else it->second.ask_epochs = false;
  }
}

bool ReplicaFetcher::still_following(const Key& k, std::int32_t epoch) const {
  auto st = mgr_.state_of(k.first, k.second);
  if (!st || st->leader_epoch != epoch || st->leader != leader_id_ || st->leader == mgr_.options().node_id) return false;
  std::lock_guard lk(mu_);
  auto it = parts_.find(k);
  return it != parts_.end() && it->second.epoch == epoch;
}

void ReplicaFetcher::backoff() {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(mgr_.options().fetch_backoff_ms), [this] { return stopping_; });
}

void ReplicaFetcher::run() {
  std::string last_error;
  for (;;) {
    std::map<Key, Part> parts;
    BrokerEndpoint ep;
    // Lock order: the manager's lock, then this one (the manager calls
    // set_partitions under its lock), so the manager is asked only after
    // this lock is released.
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(kIdleWaitMs),
                   [this] { return stopping_ || (!parts_.empty() && endpoint_); });
      if (stopping_) return;
      if (parts_.empty() || !endpoint_) continue;
      if (endpoint_changed_) {
        client_.close();
        endpoint_changed_ = false;
      }
      ep = *endpoint_;
      parts = parts_;
    }
    // A partition new to this fetcher or in a new leader epoch starts
    // fetching at once: the leader's diverging_epoch answer tells it to
    // truncate. OffsetForLeaderEpoch is the fallback for a partition that
    // answer could not settle (ask_epochs).
    std::vector<Key> keys, unreconciled;
    for (const auto& [k, p] : parts) {
      keys.push_back(k);
      auto st = mgr_.state_of(k.first, k.second);
      if (!st || p.epoch == st->leader_epoch) continue;
      if (p.ask_epochs) unreconciled.push_back(k);
      else mark(k, st->leader_epoch);
    }
    if (!client_.connected() && !client_.connect_to(ep, mgr_.options().inter_broker, kConnectTimeoutMs)) {
      if (client_.error() != last_error) spdlog::warn("replica fetcher for leader {}: {}", leader_id_, client_.error());
      last_error = client_.error();
      backoff();
      continue;
    }
    bool ok = unreconciled.empty() || reconcile(unreconciled);
    if (ok) ok = fetch(keys);
    if (ok) {
      last_error.clear();
      continue;
    }
    if (!client_.connected() && client_.error() != last_error) {
      spdlog::warn("replica fetcher for leader {}: {}", leader_id_, client_.error());
      last_error = client_.error();
    }
    backoff();
  }
}

bool ReplicaFetcher::reconcile(const std::vector<Key>& keys) {
  kafka::OffsetForLeaderEpochRequest req;
  req.replica_id = mgr_.options().node_id;
  std::map<Key, std::int32_t> asked;  // key -> the local latest epoch asked about
  for (const Key& k : keys) {
    auto st = mgr_.state_of(k.first, k.second);
    LogHandle log = mgr_.log_of(k.first, k.second);
    if (!st || !log) continue;
    auto latest = log.log->leader_epochs().latest();
    if (!latest) {
      // No epoch recorded: nothing this replica wrote as a leader can diverge.
      mark(k, st->leader_epoch);
      continue;
    }
    auto& t = topic_entry(req.topics, k.first);
    auto& p = t.partitions.emplace_back();
    p.partition = k.second;
    p.current_leader_epoch = st->leader_epoch;
    p.leader_epoch = latest->epoch;
    asked[k] = latest->epoch;
  }
  if (req.topics.empty()) return true;
  kafka::OffsetForLeaderEpochResponse res;
  if (!client_.call(req, kEpochVersion, res, frame_, kCallTimeoutMs)) return false;
  bool any = false;
  for (const auto& t : res.topics) {
    for (const auto& p : t.partitions) {
      const Key k{t.topic, p.partition};
      auto a = asked.find(k);
      auto st = mgr_.state_of(k.first, k.second);
      LogHandle log = mgr_.log_of(k.first, k.second);
      if (a == asked.end() || !st || !log) continue;
      if (p.error_code != 0) {
        spdlog::debug("replica fetcher {}-{}: OffsetForLeaderEpoch error {}", k.first, k.second, p.error_code);
        continue;
      }
      any = true;
      // An older epoch answered and cut our log: compare again with the new latest epoch.
      const bool cut = truncate_divergent(k, *log.log, a->second, p.leader_epoch, p.end_offset);
      if (!(cut && p.leader_epoch != a->second)) mark(k, st->leader_epoch);
    }
  }
  return any;
}

bool ReplicaFetcher::truncate_divergent(const Key& k, log::PartitionLog& log, std::int32_t asked,
                                        std::int32_t epoch, std::int64_t end_offset) {
  // Undefined (-1, -1): the leader knows no epoch this old; the fetch's
  // range check decides (OFFSET_OUT_OF_RANGE truncates to its high watermark).
  if (end_offset < 0 || epoch < 0) return false;
  const std::int64_t leo = log.log_end_offset();
  // Where that epoch ends here: the log end when it is our latest.
  std::int64_t local_end = leo;
  if (epoch != asked) {
    const auto e = log.end_offset_for_epoch(epoch);
    if (e.end_offset >= 0) local_end = e.end_offset;
  }
  const std::int64_t target = std::min(end_offset, local_end);
  if (target >= leo) return false;
  auto r = log.truncate_to(target);
  if (!r) {
    spdlog::error("replica {}-{}: truncation to {} failed: {}", k.first, k.second, target, r.error().to_string());
    return false;
  }
  spdlog::info("replica {}-{}: truncated a divergent tail from {} to {} (leader {}: epoch {} ends at {})", k.first,
               k.second, leo, *r, leader_id_, epoch, end_offset);
  mgr_.truncated(k.first, k.second);
  std::lock_guard lk(mu_);
  ++stats_.truncations;
  return true;
}

bool ReplicaFetcher::fetch(const std::vector<Key>& keys) {
  const ReplicaOptions& o = mgr_.options();
  kafka::FetchRequest req;
  req.replica_id = o.node_id;  // v4-14
  req.replica_state.replica_id = o.node_id;  // v15+
  req.max_wait_ms = o.fetch_max_wait_ms;
  req.min_bytes = 1;
  req.max_bytes = o.fetch_response_max_bytes;
  std::map<Key, LogHandle> logs;
  std::map<Key, Asked> asked;
  std::map<kafka::Uuid, std::string> names;  // the topics' ids, for the answer
  std::map<Key, Part> parts;
  {
    std::lock_guard lk(mu_);
    parts = parts_;
  }
  bool by_id = true;
  for (const Key& k : keys) {
    auto it = parts.find(k);
    auto st = mgr_.state_of(k.first, k.second);
    if (it == parts.end() || !st || it->second.epoch != st->leader_epoch) continue;  // not reconciled
    LogHandle log = mgr_.log_of(k.first, k.second);
    if (!log) continue;
    auto& t = topic_entry(req.topics, k.first);
    if (kafka::is_zero(t.topic_id)) {
      t.topic_id = mgr_.topic_id(k.first);
      if (kafka::is_zero(t.topic_id)) by_id = false;
      else names[t.topic_id] = k.first;
    }
    auto& p = t.partitions.emplace_back();
    p.partition = k.second;
    p.current_leader_epoch = st->leader_epoch;
    p.fetch_offset = log.log->log_end_offset();
    const auto latest = log.log->leader_epochs().latest();
    p.last_fetched_epoch = latest ? latest->epoch : -1;
    p.log_start_offset = log.log->log_start_offset();
    p.partition_max_bytes = o.fetch_max_bytes;
    logs[k] = std::move(log);
    asked[k] = {st->leader_epoch, p.last_fetched_epoch};
  }
  if (req.topics.empty()) return false;  // nothing reconciled yet: back off
  const std::int16_t version = by_id ? kFetchVersion : kFetchByNameVersion;
  kafka::FetchResponse res;
  if (!client_.call(req, version, res, frame_, o.fetch_max_wait_ms + kCallTimeoutMs)) return false;
  bool any = false;
  for (const auto& t : res.responses) {
    const auto name = version >= 13 ? names.find(t.topic_id) : names.end();
    if (version >= 13 && name == names.end()) continue;
    const std::string& topic = version >= 13 ? name->second : t.topic;
    for (const auto& p : t.partitions) {
      const Key k{topic, p.partition_index};
      auto l = logs.find(k);
      if (l == logs.end()) continue;
      // The answer may arrive after the partition moved on (this broker
      // became its leader, or it follows another leader or epoch): its
      // batches then belong to no log here any more and are dropped.
      if (!still_following(k, asked[k].leader_epoch)) continue;
      if (take(k, *l->second.log, p, asked[k].last_fetched_epoch)) any = true;
    }
  }
  return any;
}

bool ReplicaFetcher::take(const Key& k, log::PartitionLog& log, const kafka::FetchResponse::PartitionData& p,
                          std::int32_t last_fetched_epoch) {
  if (p.error_code == 0 && p.diverging_epoch.epoch >= 0 && p.diverging_epoch.end_offset >= 0) {
    // Our log went on past where the leader's `epoch` ends: cut it there (or
    // where that epoch ends here, when earlier) and fetch again. A
    // divergence this cannot settle goes to OffsetForLeaderEpoch.
    const bool cut =
        truncate_divergent(k, log, last_fetched_epoch, p.diverging_epoch.epoch, p.diverging_epoch.end_offset);
    if (!cut) mark(k, -1);
    return cut;
  }
  if (p.error_code == kafka::to_wire(kafka::ErrorCode::offset_out_of_range)) {
    if (p.log_start_offset > log.log_end_offset()) {
      if (auto r = log.truncate_fully_and_start_at(p.log_start_offset); !r)
        spdlog::error("replica {}-{}: cannot restart the log at {}: {}", k.first, k.second, p.log_start_offset,
                      r.error().to_string());
      mgr_.truncated(k.first, k.second);
    } else if (p.high_watermark >= 0 && p.high_watermark < log.log_end_offset()) {
      // Ahead of the leader's log: everything below its high watermark is
      // committed and identical here; what is above may have diverged.
      auto r = log.truncate_to(p.high_watermark);
      spdlog::info("replica {}-{}: log end past the leader's; truncated to its high watermark {}{}", k.first,
                   k.second, p.high_watermark, r ? "" : " failed: " + r.error().to_string());
      mgr_.truncated(k.first, k.second);
    }
    mark(k, -1);  // reconcile again
    return false;
  }
  if (p.error_code != 0) {
    spdlog::debug("replica fetcher {}-{}: fetch error {}", k.first, k.second, p.error_code);
    return false;
  }
  const std::size_t whole = log::whole_batches(p.records.bytes);
  if (whole > 0) {
    // A writable view of our own receive buffer (the records are a view into it).
    const auto at = static_cast<std::size_t>(p.records.bytes.data() - frame_.data());
    const std::span<std::byte> batches = std::span<std::byte>(frame_).subspan(at, whole);
    auto append = mgr_.replicated_appender(k.first, k.second);
    auto r = append ? append(batches) : log.append_replicated(batches);
    if (!r) {
      spdlog::warn("replica {}-{}: append of the leader's batches failed: {}", k.first, k.second,
                   r.error().to_string());
      mark(k, -1);
      return false;
    }
    std::lock_guard lk(mu_);
    ++stats_.fetches;
    stats_.bytes += whole;
  }
  mgr_.follower_high_watermark(k.first, k.second, p.high_watermark);
  return true;
}

}  // namespace nocopy::replication
