#include "replication/replica_manager.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "io/clock.h"
#include "kafka/error_code.h"
#include "log/partition_log.h"
#include "replication/replica_fetcher.h"

namespace nocopy::replication {

namespace {
bool contains(const std::vector<std::int32_t>& v, std::int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }
const std::int16_t kNotLeader = kafka::to_wire(kafka::ErrorCode::not_leader_or_follower);
}  // namespace

ReplicaManager::ReplicaManager(ReplicaOptions opts, IsrChangeSink& sink, LogLookup logs, ReplicaHooks hooks)
    : opts_(std::move(opts)), sink_(sink), logs_(std::move(logs)), hooks_(std::move(hooks)) {
  if (opts_.isr_check_interval_ms > 0) isr_thread_ = std::thread([this] { isr_loop(); });
}

ReplicaManager::~ReplicaManager() { stop(); }

void ReplicaManager::stop() {
  {
    std::lock_guard lk(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (isr_thread_.joinable()) isr_thread_.join();
  std::map<std::int32_t, std::unique_ptr<ReplicaFetcher>> fetchers;
  After a;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    fetchers.swap(fetchers_);
    for (auto& [k, r] : replicas_) {
      for (Waiter& w : r.waiters) a.fired.emplace_back(std::move(w.done), kNotLeader);
      r.waiters.clear();
    }
  }
  fetchers.clear();  // joins their threads (they call back into us: no lock held)
  for (auto& [done, err] : a.fired) done(err);
}

std::int64_t ReplicaManager::now_ms() const {
  if (opts_.clock_ms) return opts_.clock_ms();
  return io::steady_clock_ms();
}

void ReplicaManager::isr_loop() {
  std::unique_lock lk(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lk, std::chrono::milliseconds(opts_.isr_check_interval_ms), [this] { return stopping_; });
    if (stopping_) break;
    lk.unlock();
    attach_logs();
    check_isr();
    lk.lock();
  }
}

void ReplicaManager::run(After& a) {
  for (auto& [done, err] : a.fired) done(err);
  for (const Key& k : a.new_leader)
    if (hooks_.became_leader) hooks_.became_leader(k.first, k.second);
  for (const Key& k : a.hw_moved)
    if (hooks_.high_watermark_moved) hooks_.high_watermark_moved(k.first, k.second);
  for (auto& [k, st] : a.proposals) sink_.propose_isr(k.first, k.second, st);
}

void ReplicaManager::apply(const std::string& topic, std::int32_t partition, const PartitionState& state) {
  const Key k{topic, partition};
  After a;
  {
    std::lock_guard lk(mu_);
    Replica& r = replicas_[k];
    r.state = state;
    r.isr_proposed_ms = -1;  // a committed state came back
    if (!r.log) r.log = logs_(topic, partition);
    settle(k, r, a);
    update_fetchers();
  }
  run(a);
}

void ReplicaManager::attach_logs() {
  After a;
  {
    std::lock_guard lk(mu_);
    bool any = false;
    for (auto& [k, r] : replicas_) {
      if (r.log) continue;
      r.log = logs_(k.first, k.second);
      if (!r.log) continue;
      settle(k, r, a);
      any = true;
    }
    if (any) update_fetchers();
  }
  run(a);
}

void ReplicaManager::settle(const Key& k, Replica& r, After& a) {
  if (!r.log) return;  // attach_logs() finishes when the log exists
  if (r.state.leader == opts_.node_id) {
    const bool same_term = r.led_epoch == r.state.leader_epoch;
    if (!same_term) r.epoch_start_offset = r.log.log->log_end_offset();
    become_leader(k, r, same_term);
    if (!same_term) a.new_leader.push_back(k);
    r.led_epoch = r.state.leader_epoch;
    advance_high_watermark(k, r, a);
  } else {
    r.led_epoch = -1;
    r.epoch_start_offset = -1;
    become_follower(k, r, a);
  }
}

void ReplicaManager::become_leader(const Key& k, Replica& r, bool same_term) {
  log::PartitionLog& log = *r.log.log;
  // Nothing is known to be replicated beyond what this replica last learnt:
  // the followers' first fetches tell.
  if (!log.tracks_high_watermark()) log.set_high_watermark(log.log_start_offset());
  std::map<std::int32_t, Follower> followers;
  const std::int64_t now = now_ms();
  for (std::int32_t id : r.state.replicas) {
    if (id == opts_.node_id) continue;
    auto old = r.followers.find(id);
    if (same_term && old != r.followers.end()) {
      followers[id] = old->second;
    } else {
      Follower f;
      f.caught_up_ms = now;  // a new term gives every follower a full lag period
      f.last_fetch_ms = now;
      followers[id] = f;
    }
  }
  r.followers = std::move(followers);
  if (!same_term) {
    spdlog::info("replication {}-{}: leader in epoch {} (replicas {}, ISR {}), log end {}, high watermark {}",
                 k.first, k.second, r.state.leader_epoch, r.state.replicas.size(), r.state.isr.size(),
                 log.log_end_offset(), log.high_watermark());
  }
}

void ReplicaManager::become_follower(const Key& k, Replica& r, After& a) {
  for (Waiter& w : r.waiters) a.fired.emplace_back(std::move(w.done), kNotLeader);
  r.waiters.clear();
  r.followers.clear();
  log::PartitionLog& log = *r.log.log;
  if (!log.tracks_high_watermark()) log.set_high_watermark(log.log_start_offset());
  spdlog::debug("replication {}-{}: follower of {} in epoch {}", k.first, k.second, r.state.leader,
                r.state.leader_epoch);
}

void ReplicaManager::advance_high_watermark(const Key& k, Replica& r, After& a) {
  log::PartitionLog& log = *r.log.log;
  const std::int64_t current = log.high_watermark();
  std::int64_t hw = log.log_end_offset();
  for (std::int32_t id : r.state.isr) {
    if (id == opts_.node_id) continue;
    auto f = r.followers.find(id);
    if (f == r.followers.end() || f->second.log_end < 0) {
      hw = std::min(hw, current);  // not heard from in this term yet
    } else {
      hw = std::min(hw, f->second.log_end);
    }
  }
  if (hw > current) {
    log.set_high_watermark(hw);
    a.hw_moved.push_back(k);
  }
  const std::int64_t now_hw = log.high_watermark();
  auto due = std::partition(r.waiters.begin(), r.waiters.end(), [&](const Waiter& w) { return w.offset >= now_hw; });
  for (auto it = due; it != r.waiters.end(); ++it) a.fired.emplace_back(std::move(it->done), 0);
  r.waiters.erase(due, r.waiters.end());
}

void ReplicaManager::removed(const std::string& topic, std::int32_t partition) {
  After a;
  {
    std::lock_guard lk(mu_);
    auto it = replicas_.find({topic, partition});
    if (it == replicas_.end()) return;
    for (Waiter& w : it->second.waiters) a.fired.emplace_back(std::move(w.done), kNotLeader);
    replicas_.erase(it);
    update_fetchers();
  }
  run(a);
}

void ReplicaManager::brokers(const std::vector<BrokerEndpoint>& live) {
  std::lock_guard lk(mu_);
  live_.clear();
  for (const BrokerEndpoint& b : live) live_[b.node_id] = b;
  update_fetchers();
}

void ReplicaManager::update_fetchers() {
  if (stopped_ || !opts_.run_fetchers) return;
  std::map<std::int32_t, std::vector<Key>> by_leader;
  for (const auto& [k, r] : replicas_) {
    if (r.log && r.state.leader >= 0 && r.state.leader != opts_.node_id) by_leader[r.state.leader].push_back(k);
  }
  // A fetcher whose leader leads nothing here idles (kept for when it does again).
  for (auto& [leader, f] : fetchers_)
    if (!by_leader.contains(leader)) f->set_partitions({});
  for (auto& [leader, keys] : by_leader) {
    auto& f = fetchers_[leader];
    if (!f) f = std::make_unique<ReplicaFetcher>(*this, leader);
    auto ep = live_.find(leader);
    f->set_endpoint(ep == live_.end() ? std::optional<BrokerEndpoint>() : std::optional<BrokerEndpoint>(ep->second));
    f->set_partitions(keys);
  }
}

std::optional<ReplicaManager::View> ReplicaManager::view(const std::string& topic, std::int32_t partition) const {
  std::lock_guard lk(mu_);
  auto it = replicas_.find({topic, partition});
  if (it == replicas_.end()) return std::nullopt;
  const Replica& r = it->second;
  const bool leads = r.state.leader == opts_.node_id && r.log;
  return View{leads ? Role::leader : Role::follower, r.state.leader, r.state.leader_epoch, r.state.isr.size(),
              leads && fenced(r), leads ? r.epoch_start_offset : -1};
}

bool ReplicaManager::fenced(const Replica& r) const {
  if (!opts_.session_current || r.state.replicas.size() < 2 || opts_.session_current()) return false;
  const std::int64_t now = now_ms();
  for (const auto& [id, f] : r.followers)
    if (f.log_end >= 0 && now - f.last_fetch_ms < opts_.fence_after_ms) return false;
  return true;
}

void ReplicaManager::on_follower_fetch(const std::string& topic, std::int32_t partition, std::int32_t replica_id,
                                       std::int64_t fetch_offset) {
  const Key k{topic, partition};
  After a;
  {
    std::lock_guard lk(mu_);
    auto it = replicas_.find(k);
    if (it == replicas_.end() || !it->second.log || it->second.state.leader != opts_.node_id) return;
    Replica& r = it->second;
    auto f = r.followers.find(replica_id);
    if (f == r.followers.end()) return;  // not a replica of this partition
    const std::int64_t now = now_ms();
    const std::int64_t leader_end = r.log.log->log_end_offset();
    if (fetch_offset > leader_end) return;  // a divergent follower: answered OFFSET_OUT_OF_RANGE
    Follower& fl = f->second;
    // Kafka's rule: caught up now if it reached the log end, or as of its
    // previous fetch if it reached what the log end was then.
    if (fetch_offset >= leader_end) {
      fl.caught_up_ms = now;
    } else if (fl.last_fetch_ms > 0 && fetch_offset >= fl.leader_end_at_last_fetch) {
      fl.caught_up_ms = std::max(fl.caught_up_ms, fl.last_fetch_ms);
    }
    fl.log_end = fetch_offset;
    fl.last_fetch_ms = now;
    fl.leader_end_at_last_fetch = leader_end;
    advance_high_watermark(k, r, a);
    maybe_expand_isr(k, r, replica_id, a);
  }
  run(a);
}

bool ReplicaManager::proposal_pending(const Replica& r, std::int64_t now) const {
  return r.isr_proposed_ms >= 0 && now - r.isr_proposed_ms < opts_.isr_proposal_retry_ms;
}

void ReplicaManager::maybe_expand_isr(const Key& k, Replica& r, std::int32_t replica_id, After& a) {
  const std::int64_t now = now_ms();
  if (proposal_pending(r, now) || contains(r.state.isr, replica_id)) return;
  const Follower& f = r.followers.at(replica_id);
  // Back in sync: it holds everything the ISR holds and has caught up with
  // the leader's log end within the lag time.
  if (f.log_end < r.log.log->high_watermark() || now - f.caught_up_ms > opts_.replica_lag_time_max_ms) return;
  PartitionState next = r.state;
  next.isr.push_back(replica_id);
  r.isr_proposed_ms = now;
  spdlog::info("replication {}-{}: proposing replica {} back into the ISR (log end {})", k.first, k.second,
               replica_id, f.log_end);
  a.proposals.emplace_back(k, std::move(next));
}

void ReplicaManager::check_isr() {
  After a;
  {
    std::lock_guard lk(mu_);
    const std::int64_t now = now_ms();
    for (auto& [k, r] : replicas_) {
      if (!r.log || r.state.leader != opts_.node_id) continue;
      if (!r.waiters.empty() && fenced(r)) {
        // Possibly replaced: the parked acks=all produces will not be acknowledged here.
        for (Waiter& w : r.waiters) a.fired.emplace_back(std::move(w.done), kNotLeader);
        r.waiters.clear();
      }
      if (proposal_pending(r, now)) continue;
      const std::int64_t leader_end = r.log.log->log_end_offset();
      PartitionState next = r.state;
      std::erase_if(next.isr, [&](std::int32_t id) {
        if (id == opts_.node_id) return false;
        auto f = r.followers.find(id);
        if (f == r.followers.end()) return false;
        // A follower at the log end is in sync however long ago it fetched.
        if (f->second.log_end >= leader_end) return false;
        return now - f->second.caught_up_ms > opts_.replica_lag_time_max_ms;
      });
      if (next.isr.size() == r.state.isr.size()) continue;
      r.isr_proposed_ms = now;
      spdlog::warn("replication {}-{}: proposing ISR {} -> {} replicas (replica.lag.time.max.ms {})", k.first,
                   k.second, r.state.isr.size(), next.isr.size(), opts_.replica_lag_time_max_ms);
      a.proposals.emplace_back(k, std::move(next));
    }
  }
  run(a);
}

void ReplicaManager::on_leader_append(const std::string& topic, std::int32_t partition) {
  const Key k{topic, partition};
  After a;
  {
    std::lock_guard lk(mu_);
    auto it = replicas_.find(k);
    if (it == replicas_.end() || !it->second.log || it->second.state.leader != opts_.node_id) return;
    advance_high_watermark(k, it->second, a);
  }
  run(a);
}

void ReplicaManager::wait_for_high_watermark(const std::string& topic, std::int32_t partition, std::int64_t offset,
                                             HwDone done) {
  std::int16_t error = 0;
  {
    std::lock_guard lk(mu_);
    auto it = replicas_.find({topic, partition});
    if (stopped_ || it == replicas_.end() || !it->second.log || it->second.state.leader != opts_.node_id) {
      error = kNotLeader;
    } else if (it->second.log.log->high_watermark() <= offset) {
      it->second.waiters.push_back(Waiter{offset, std::move(done)});
      return;
    }
  }
  done(error);
}

LogHandle ReplicaManager::log_of(const std::string& topic, std::int32_t partition) const {
  std::lock_guard lk(mu_);
  auto it = replicas_.find({topic, partition});
  return it == replicas_.end() ? LogHandle{} : it->second.log;
}

std::optional<PartitionState> ReplicaManager::state_of(const std::string& topic, std::int32_t partition) const {
  std::lock_guard lk(mu_);
  auto it = replicas_.find({topic, partition});
  if (it == replicas_.end()) return std::nullopt;
  return it->second.state;
}

std::optional<BrokerEndpoint> ReplicaManager::endpoint_of(std::int32_t node_id) const {
  std::lock_guard lk(mu_);
  auto it = live_.find(node_id);
  if (it == live_.end()) return std::nullopt;
  return it->second;
}

void ReplicaManager::follower_high_watermark(const std::string& topic, std::int32_t partition,
                                             std::int64_t leader_hw) {
  const Key k{topic, partition};
  After a;
  {
    std::lock_guard lk(mu_);
    auto it = replicas_.find(k);
    if (it == replicas_.end() || !it->second.log || it->second.state.leader == opts_.node_id) return;
    log::PartitionLog& log = *it->second.log.log;
    const std::int64_t hw = std::min(leader_hw, log.log_end_offset());
    if (hw > log.high_watermark() || !log.tracks_high_watermark()) {
      log.set_high_watermark(hw);
      a.hw_moved.push_back(k);
    }
  }
  run(a);
}

}  // namespace nocopy::replication
