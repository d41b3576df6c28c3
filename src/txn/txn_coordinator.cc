#include "txn/txn_coordinator.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <set>

namespace nocopy::txn {

using kafka::ErrorCode;
using kafka::to_wire;

namespace {
constexpr std::int16_t kMaxEpoch = 32766;  // Kafka: Short.MAX_VALUE - 1 is the last usable epoch

// Decided, markers being written.
bool completing(TxnState s) { return s == TxnState::prepare_commit || s == TxnState::prepare_abort; }

// Drops what the transaction holds: its partitions.
void clear_transaction(TxnMetadata& m) { m.partitions.clear(); }

// The start of a state change of `m`: a copy that remembers the producer id
// it changes from (Kafka's previous producer id).
TxnMetadata transition(const TxnMetadata& m) {
  TxnMetadata next = m;
  next.prev_producer_id = m.producer_id;
  return next;
}

// `m` with a new, empty Ongoing transaction begun at `now`.
void begin_transaction(TxnMetadata& m, std::int64_t now) {
  m.state = TxnState::ongoing;
  m.start_ms = now;
  clear_transaction(m);
}
}  // namespace

ErrorCode add_verdict(ErrorCode e) {
  switch (e) {
    case ErrorCode::none: return ErrorCode::none;
    case ErrorCode::producer_fenced:
    case ErrorCode::invalid_producer_epoch: return ErrorCode::invalid_producer_epoch;
    case ErrorCode::concurrent_transactions:
    case ErrorCode::coordinator_not_available:
    case ErrorCode::not_coordinator:
    case ErrorCode::coordinator_load_in_progress:
    case ErrorCode::not_enough_replicas: return ErrorCode::not_enough_replicas;
    default: return ErrorCode::invalid_txn_state;
  }
}

TxnCoordinator::TxnCoordinator(TxnCoordinatorConfig cfg, TxnStateLog* log, TxnParticipants* participants,
                               std::function<std::int64_t()> allocate_producer_id)
    : cfg_(cfg), log_(log), participants_(participants), allocate_(std::move(allocate_producer_id)) {}

TxnCoordinator::Owned TxnCoordinator::owned(const std::string& transactional_id, std::int64_t pid,
                                           std::int16_t epoch, bool fenced_code) {
  auto it = txns_.find(transactional_id);
  Owned o;
  o.m = it == txns_.end() ? nullptr : &it->second;
  o.error = check_producer(o.m, pid, epoch, fenced_code);
  return o;
}

void TxnCoordinator::assign(TxnMetadata& m, TxnMetadata next) {
  if (next.producer_id != m.producer_id) {
    auto it = by_producer_.find(m.producer_id);
    if (it != by_producer_.end() && it->second == m.transactional_id) by_producer_.erase(it);
    if (next.producer_id >= 0) by_producer_[next.producer_id] = next.transactional_id;
  }
  m = std::move(next);
}

ErrorCode TxnCoordinator::check_producer(const TxnMetadata* m, std::int64_t pid, std::int16_t epoch,
                                         bool fenced_code) const {
  if (m == nullptr || m->producer_id != pid) return ErrorCode::invalid_producer_id_mapping;
  if (m->producer_epoch != epoch) return fenced_code ? ErrorCode::producer_fenced : ErrorCode::invalid_producer_epoch;
  return ErrorCode::none;
}

// The record's value version follows the finalized transaction.version,
// not the client's: v1 only once the level is 2, so every broker that may
// load the partition (one of an older release, or after a downgrade of the
// level) can read it. A client that sends EndTxn v5 to a broker at level < 2
// (above the range it advertises) is served as version 2, and its record
// drops the v1-only fields, as Kafka's TransactionLog.valueToBytes does.
bool TxnCoordinator::persist(const TxnMetadata& m) {
  const std::int16_t value_version = cfg_.transaction_version >= 2 ? 1 : 0;
  if (log_ != nullptr && !log_->append(encode_txn_key(m.transactional_id), encode_txn_value(m, value_version)))
    return false;
  publish(m);
  return true;
}

void TxnCoordinator::publish(const TxnMetadata& m) {
  std::lock_guard lock(verify_mu_);
  auto owner = verifiable_owner_.find(m.transactional_id);
  if (owner != verifiable_owner_.end() && owner->second != m.producer_id) verifiable_.erase(owner->second);
  verifiable_owner_[m.transactional_id] = m.producer_id;
  Verifiable& v = verifiable_[m.producer_id];
  v.epoch = m.producer_epoch;
  v.ongoing = m.state == TxnState::ongoing;
  v.partitions = v.ongoing ? m.partitions : std::set<TopicPartition>{};
}

void TxnCoordinator::unpublish(const std::string& transactional_id) {
  std::lock_guard lock(verify_mu_);
  auto owner = verifiable_owner_.find(transactional_id);
  if (owner == verifiable_owner_.end()) return;
  verifiable_.erase(owner->second);
  verifiable_owner_.erase(owner);
}

void TxnCoordinator::fence_epoch(TxnMetadata& m) {
  if (m.producer_epoch < kMaxEpoch + 1) ++m.producer_epoch;
}

bool TxnCoordinator::bump_epoch(TxnMetadata& m) {
  if (m.producer_epoch < kMaxEpoch) {
    ++m.producer_epoch;
    return true;
  }
  try {
    m.producer_id = allocate_();
    m.producer_epoch = 0;
    return true;
  } catch (const std::exception& e) {
    spdlog::error("transactions: no producer id for {}: {}", m.transactional_id, e.what());
    return false;
  }
}

ErrorCode TxnCoordinator::prepare_locked(TxnMetadata& m, bool commit, std::int64_t now, bool bump) {
  TxnMetadata prep = transition(m);
  prep.state = commit ? TxnState::prepare_commit : TxnState::prepare_abort;
  prep.last_update_ms = now;
  if (bump) {
    prep.client_version = 2;
    if (m.state != TxnState::ongoing) {  // an abort with nothing open: no partitions, begun now
      clear_transaction(prep);
      prep.start_ms = now;
    }
    prep.next_producer_id = -1;
    if (m.producer_epoch >= kMaxEpoch) {
      // The bump reaches 32767, which no client may use: the transaction
      // moves to a new producer id when it completes.
      try {
        prep.next_producer_id = allocate_();
      } catch (const std::exception& e) {
        spdlog::error("transactions: no producer id for {}: {}", m.transactional_id, e.what());
        return ErrorCode::coordinator_not_available;
      }
    }
    ++prep.producer_epoch;
  }
  if (!persist(prep)) return ErrorCode::coordinator_not_available;
  assign(m, std::move(prep));
  return ErrorCode::none;
}

ErrorCode TxnCoordinator::end_locked(TxnMetadata& m, bool commit, std::int64_t now) {
  if (m.state == TxnState::ongoing) {
    if (const ErrorCode e = prepare_locked(m, commit, now); e != ErrorCode::none) return e;
  }
  bool all_written = true;
  for (const TopicPartition& tp : m.partitions) {
    const std::int16_t e =
        participants_->write_marker(tp, m.producer_id, m.producer_epoch, commit, cfg_.coordinator_epoch);
    if (e == to_wire(ErrorCode::unknown_topic_or_partition)) continue;  // deleted since: nothing to mark
    if (e != 0) {
      spdlog::warn("transactions: {} marker for {} in {}-{} failed with error {}; retried", commit ? "COMMIT" : "ABORT",
                   m.transactional_id, tp.topic, tp.partition, e);
      all_written = false;
    }
  }
  if (!all_written) return ErrorCode::none;  // stays Prepare*: tick() retries, the outcome is decided
  TxnMetadata done = transition(m);
  done.state = commit ? TxnState::complete_commit : TxnState::complete_abort;
  clear_transaction(done);
  done.last_update_ms = now;
  if (done.next_producer_id >= 0) {  // transaction version 2 past the last epoch: the new producer id
    done.producer_id = done.next_producer_id;
    done.producer_epoch = 0;
  }
  done.next_producer_id = -1;
  // If this record is lost, a restart finds Prepare* and writes the same
  // markers again, which readers ignore.
  if (!persist(done)) spdlog::warn("transactions: completion of {} not stored; it is redone at start-up", m.transactional_id);
  assign(m, std::move(done));
  return ErrorCode::none;
}

kafka::InitProducerIdResponse TxnCoordinator::init_producer_id(const kafka::InitProducerIdRequest& req,
                                                               std::int16_t version, std::int64_t now) {
  kafka::InitProducerIdResponse r;
  auto fail = [&](ErrorCode e) {
    r.error_code = to_wire(e);
    r.producer_id = -1;
    r.producer_epoch = -1;
    return r;
  };
  const std::string& id = req.transactional_id.value_or("");
  if (id.empty()) return fail(ErrorCode::invalid_request);
  if (req.transaction_timeout_ms <= 0 || req.transaction_timeout_ms > cfg_.max_timeout_ms)
    return fail(ErrorCode::invalid_transaction_timeout);
  std::lock_guard lock(mu_);
  auto it = txns_.find(id);
  const ErrorCode e = it == txns_.end() ? create_id(id, req.transaction_timeout_ms, now)
                                        : reinit(it->second, req, version, now);
  if (e != ErrorCode::none) return fail(e);
  const TxnMetadata& m = txns_.at(id);
  r.producer_id = m.producer_id;
  r.producer_epoch = m.producer_epoch;
  return r;
}

ErrorCode TxnCoordinator::create_id(const std::string& id, std::int32_t timeout_ms, std::int64_t now) {
  TxnMetadata m;
  m.transactional_id = id;
  try {
    m.producer_id = allocate_();
  } catch (const std::exception& e) {
    spdlog::error("transactions: no producer id for {}: {}", id, e.what());
    return ErrorCode::coordinator_not_available;
  }
  m.producer_epoch = 0;
  m.timeout_ms = timeout_ms;
  m.state = TxnState::empty;
  m.last_update_ms = now;
  if (!persist(m)) return ErrorCode::coordinator_not_available;
  by_producer_[m.producer_id] = id;
  txns_.emplace(id, std::move(m));
  return ErrorCode::none;
}

ErrorCode TxnCoordinator::reinit(TxnMetadata& m, const kafka::InitProducerIdRequest& req, std::int16_t version,
                                 std::int64_t now) {
  // v3+: a producer that names its id and epoch must be the current one.
  if (req.producer_id >= 0 && (req.producer_id != m.producer_id || req.producer_epoch != m.producer_epoch))
    return version >= 4 ? ErrorCode::producer_fenced : ErrorCode::invalid_producer_epoch;
  if (completing(m.state)) {
    // A completion whose markers failed: try again now.
    end_locked(m, m.state == TxnState::prepare_commit, now);
    if (completing(m.state)) return ErrorCode::concurrent_transactions;
  }
  TxnMetadata next = transition(m);
  if (m.state == TxnState::ongoing) {
    // The previous producer left a transaction open: fence it (markers with
    // the next epoch, under its own producer id) and abort it. The new
    // producer gets that epoch, or a new producer id when it was the last.
    fence_epoch(next);
    if (!persist(next)) return ErrorCode::coordinator_not_available;
    assign(m, next);
    if (end_locked(m, false, now) != ErrorCode::none) return ErrorCode::coordinator_not_available;
    if (m.state != TxnState::complete_abort) return ErrorCode::concurrent_transactions;
    next = transition(m);
    if (next.producer_epoch > kMaxEpoch && !bump_epoch(next)) return ErrorCode::coordinator_not_available;
  } else if (!bump_epoch(next)) {
    return ErrorCode::coordinator_not_available;
  }
  next.state = TxnState::empty;
  next.timeout_ms = req.transaction_timeout_ms;
  clear_transaction(next);
  next.last_update_ms = now;
  next.start_ms = -1;
  if (!persist(next)) return ErrorCode::coordinator_not_available;
  assign(m, std::move(next));
  return ErrorCode::none;
}

kafka::AddPartitionsToTxnResponse TxnCoordinator::add_partitions(const kafka::AddPartitionsToTxnRequest& req,
                                                                 std::int16_t version, std::int64_t now) {
  kafka::AddPartitionsToTxnResponse r;
  std::lock_guard lock(mu_);
  auto [m, all] = owned(req.transactional_id, req.producer_id, req.producer_epoch, version >= 2);
  if (all == ErrorCode::none && completing(m->state)) all = ErrorCode::concurrent_transactions;
  // Unknown partitions fail alone; the others are then not attempted.
  std::set<TopicPartition> unknown;
  if (all == ErrorCode::none) {
    for (const auto& t : req.topics)
      for (std::int32_t p : t.partitions)
        if (!(version >= 4 ? participants_->partition_exists_for_broker(t.name, p)
                           : participants_->partition_exists(t.name, p)))
          unknown.insert({t.name, p});
  }
  if (all == ErrorCode::none && unknown.empty()) {
    TxnMetadata next = transition(*m);
    if (next.state != TxnState::ongoing) begin_transaction(next, now);
    for (const auto& t : req.topics)
      for (std::int32_t p : t.partitions) next.partitions.insert({t.name, p});
    if (next.partitions != m->partitions || next.state != m->state) {
      // v4+ comes from a broker adding a partition for a transaction
      // version 2 producer; v0-v3 from a client that adds its own.
      next.client_version = version >= 4 ? 2 : 0;
      next.last_update_ms = now;
      if (!persist(next)) all = ErrorCode::coordinator_not_available;
      else *m = std::move(next);
    }
  }
  for (const auto& t : req.topics) {
    auto& rt = r.results.emplace_back();
    rt.name = t.name;
    for (std::int32_t p : t.partitions) {
      ErrorCode e = all;
      if (e == ErrorCode::none && !unknown.empty())
        e = unknown.contains({t.name, p}) ? ErrorCode::unknown_topic_or_partition : ErrorCode::operation_not_attempted;
      rt.results.push_back({p, to_wire(e)});
    }
  }
  return r;
}

kafka::AddOffsetsToTxnResponse TxnCoordinator::add_offsets(const kafka::AddOffsetsToTxnRequest& req,
                                                           std::int16_t version, std::int64_t now) {
  kafka::AddOffsetsToTxnResponse r;
  std::lock_guard lock(mu_);
  auto [m, e] = owned(req.transactional_id, req.producer_id, req.producer_epoch, version >= 2);
  if (e == ErrorCode::none && req.group_id.empty()) e = ErrorCode::invalid_group_id;
  if (e == ErrorCode::none && completing(m->state)) e = ErrorCode::concurrent_transactions;
  // The group's __consumer_offsets partition joins the transaction (one
  // stored change, beginning the transaction if none is open): the group
  // coordinator keeps the offsets of TxnOffsetCommit pending there until
  // this transaction's marker.
  std::optional<TopicPartition> tp;
  if (e == ErrorCode::none && !(tp = participants_->offsets_partition(req.group_id)))
    e = ErrorCode::coordinator_not_available;
  if (e == ErrorCode::none && (m->state != TxnState::ongoing || !m->partitions.contains(*tp))) {
    TxnMetadata next = transition(*m);
    if (m->state != TxnState::ongoing) begin_transaction(next, now);
    next.client_version = 0;  // AddOffsetsToTxn: a client of transaction version 0/1
    next.partitions.insert(*tp);
    next.last_update_ms = now;
    if (!persist(next)) e = ErrorCode::coordinator_not_available;
    else *m = std::move(next);
  }
  r.error_code = to_wire(e);
  return r;
}

kafka::EndTxnResponse TxnCoordinator::end_txn(const kafka::EndTxnRequest& req, std::int16_t version,
                                              std::int64_t now) {
  kafka::EndTxnResponse r;
  std::lock_guard lock(mu_);
  if (version >= 5) {
    r.error_code = to_wire(end_txn_v2(req, now, r));
    return r;
  }
  auto [m, e] = owned(req.transactional_id, req.producer_id, req.producer_epoch, version >= 2);
  if (e == ErrorCode::none) {
    switch (m->state) {
      case TxnState::ongoing:
        e = cfg_.complete_after_answer ? prepare_locked(*m, req.committed, now) : end_locked(*m, req.committed, now);
        break;
      case TxnState::complete_commit: e = req.committed ? ErrorCode::none : ErrorCode::invalid_txn_state; break;
      case TxnState::complete_abort: e = req.committed ? ErrorCode::invalid_txn_state : ErrorCode::none; break;
      case TxnState::prepare_commit:
      case TxnState::prepare_abort: e = ErrorCode::concurrent_transactions; break;
      default: e = ErrorCode::invalid_txn_state; break;
    }
  }
  r.error_code = to_wire(e);
  return r;
}

ErrorCode TxnCoordinator::end_v2_locked(TxnMetadata& m, bool commit, std::int64_t now) {
  if (const ErrorCode e = prepare_locked(m, commit, now, true); e != ErrorCode::none) return e;
  return cfg_.complete_after_answer ? ErrorCode::none : end_locked(m, commit, now);
}

// Kafka's TransactionCoordinator for transaction version 2: which epoch is
// valid depends on the state (a retry carries the epoch before the bump, or
// the previous producer id at the last epoch after an overflow), then the
// table of outcomes by state: a retry of the outcome reached is NONE, the
// other outcome INVALID_TXN_STATE; an abort with nothing open is an empty
// abort (epoch bumped).
ErrorCode TxnCoordinator::end_txn_v2(const kafka::EndTxnRequest& req, std::int64_t now, kafka::EndTxnResponse& r) {
  if (req.transactional_id.empty()) return ErrorCode::invalid_request;
  auto it = txns_.find(req.transactional_id);
  if (it == txns_.end()) return ErrorCode::invalid_producer_id_mapping;
  TxnMetadata& m = it->second;
  const bool retry_on_overflow = m.producer_id != req.producer_id && m.prev_producer_id == req.producer_id &&
                                 req.producer_epoch == kMaxEpoch && m.producer_epoch == 0;
  const bool retry_on_bump = m.producer_id == req.producer_id && m.producer_epoch == req.producer_epoch + 1;
  const bool current = m.producer_epoch == req.producer_epoch;
  bool valid = current;
  if (completing(m.state)) valid = retry_on_bump;
  else if (m.state == TxnState::complete_commit || m.state == TxnState::complete_abort)
    valid = retry_on_bump || retry_on_overflow || current;
  if (m.producer_id != req.producer_id && !retry_on_overflow) return ErrorCode::invalid_producer_id_mapping;
  if (!valid) return ErrorCode::producer_fenced;
  const bool retry = retry_on_bump || retry_on_overflow;
  const bool commit = req.committed;
  ErrorCode e = ErrorCode::invalid_txn_state;
  switch (m.state) {
    case TxnState::ongoing: e = end_v2_locked(m, commit, now); break;
    case TxnState::complete_commit:
      if (commit == retry) e = retry ? ErrorCode::none : end_v2_locked(m, false, now);
      break;
    case TxnState::complete_abort:
      if (!commit) e = retry ? ErrorCode::none : end_v2_locked(m, false, now);
      break;
    case TxnState::prepare_commit:
      if (commit) e = ErrorCode::concurrent_transactions;
      break;
    case TxnState::prepare_abort:
      if (!commit) e = ErrorCode::concurrent_transactions;
      break;
    case TxnState::empty:
      if (!commit) e = end_v2_locked(m, false, now);
      break;
    default: break;
  }
  if (e != ErrorCode::none) return e;
  // What the producer uses next: once complete, the new producer id after
  // an overflow, else the bumped epoch.
  const bool moves = m.next_producer_id >= 0;
  r.producer_id = moves ? m.next_producer_id : m.producer_id;
  r.producer_epoch = moves ? std::int16_t{0} : m.producer_epoch;
  return ErrorCode::none;
}

void TxnCoordinator::complete(const std::string& transactional_id, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = txns_.find(transactional_id);
  if (it != txns_.end() && completing(it->second.state))
    end_locked(it->second, it->second.state == TxnState::prepare_commit, now);
}

kafka::ErrorCode TxnCoordinator::verify_partition(std::int64_t producer_id, std::int16_t epoch,
                                                 const std::string& topic, std::int32_t partition) const {
  std::lock_guard lock(verify_mu_);
  auto it = verifiable_.find(producer_id);
  if (it == verifiable_.end()) return ErrorCode::invalid_txn_state;
  const Verifiable& v = it->second;
  if (epoch < v.epoch) return ErrorCode::invalid_producer_epoch;
  if (epoch != v.epoch || !v.ongoing || !v.partitions.contains({topic, partition})) return ErrorCode::invalid_txn_state;
  return ErrorCode::none;
}

bool TxnCoordinator::knows_producer(std::int64_t producer_id) const {
  std::lock_guard lock(verify_mu_);
  return verifiable_.contains(producer_id);
}

kafka::DescribeTransactionsResponse TxnCoordinator::describe(const kafka::DescribeTransactionsRequest& req) const {
  kafka::DescribeTransactionsResponse r;
  std::lock_guard lock(mu_);
  for (const std::string& id : req.transactional_ids) {
    auto& s = r.transaction_states.emplace_back();
    s.transactional_id = id;
    auto it = txns_.find(id);
    if (it == txns_.end()) {
      s.error_code = to_wire(ErrorCode::transactional_id_not_found);
      s.transaction_state = "";
      s.producer_id = -1;
      s.producer_epoch = -1;
      s.transaction_start_time_ms = -1;
      continue;
    }
    const TxnMetadata& m = it->second;
    s.transaction_state = std::string(state_name(m.state));
    s.transaction_timeout_ms = m.timeout_ms;
    s.transaction_start_time_ms = m.start_ms;
    s.producer_id = m.producer_id;
    s.producer_epoch = m.producer_epoch;
    for (const TopicPartition& tp : m.partitions) {
      if (s.topics.empty() || s.topics.back().topic != tp.topic) s.topics.emplace_back().topic = tp.topic;
      s.topics.back().partitions.push_back(tp.partition);
    }
  }
  return r;
}

kafka::ListTransactionsResponse TxnCoordinator::list(const kafka::ListTransactionsRequest& req,
                                                     std::int64_t now) const {
  kafka::ListTransactionsResponse r;
  std::set<TxnState> states;
  for (const std::string& f : req.state_filters) {
    if (auto s = state_from_name(f)) states.insert(*s);
    else r.unknown_state_filters.push_back(f);
  }
  const std::set<std::int64_t> pids(req.producer_id_filters.begin(), req.producer_id_filters.end());
  std::lock_guard lock(mu_);
  for (const auto& [id, m] : txns_) {
    if (!req.state_filters.empty() && !states.contains(m.state)) continue;
    if (!pids.empty() && !pids.contains(m.producer_id)) continue;
    // v1: only transactions running at least this long.
    if (req.duration_filter >= 0 && (m.state != TxnState::ongoing || now - m.start_ms < req.duration_filter)) continue;
    r.transaction_states.push_back({id, m.producer_id, std::string(state_name(m.state))});
  }
  return r;
}

std::size_t TxnCoordinator::tick(std::int64_t now) {
  std::lock_guard lock(mu_);
  std::size_t aborted = 0;
  for (auto& [id, m] : txns_) {
    if (completing(m.state)) {
      end_locked(m, m.state == TxnState::prepare_commit, now);
      continue;
    }
    if (m.state != TxnState::ongoing || m.start_ms < 0 || now - m.start_ms <= m.timeout_ms) continue;
    // Fence the producer that left it open, then abort with the new epoch.
    TxnMetadata next = transition(m);
    fence_epoch(next);
    if (!persist(next)) continue;
    assign(m, std::move(next));
    spdlog::info("transactions: {} open for more than {} ms: aborted (producer {} now at epoch {})", id, m.timeout_ms,
                 m.producer_id, m.producer_epoch);
    if (end_locked(m, false, now) == ErrorCode::none) ++aborted;
  }
  return aborted;
}

bool TxnCoordinator::replay(std::span<const std::byte> key, std::span<const std::byte> value) {
  auto k = decode_any_key(key);
  if (!k) return false;
  const std::string& id = k->second;
  std::lock_guard lock(mu_);
  // Key v1 (pending offsets, kept here by earlier versions): the group
  // coordinator keeps transactional offsets now; ignored.
  if (k->first == 1) return true;
  if (value.empty()) {
    if (auto it = txns_.find(id); it != txns_.end()) {
      assign(it->second, TxnMetadata{.transactional_id = id});  // unindexes its producer id
      txns_.erase(it);
    }
    unpublish(id);
    return true;
  }
  auto m = decode_txn_value(value);
  if (!m) return false;
  m->transactional_id = id;
  auto it = txns_.find(id);
  if (it == txns_.end()) it = txns_.emplace(id, TxnMetadata{.transactional_id = id}).first;
  assign(it->second, std::move(*m));
  publish(it->second);
  return true;
}

void TxnCoordinator::finish_replay(std::int64_t now) {
  std::lock_guard lock(mu_);
  for (auto& [id, m] : txns_) {
    if (completing(m.state)) {
      spdlog::info("transactions: completing the {} of {} left by a restart",
                   m.state == TxnState::prepare_commit ? "commit" : "abort", id);
      end_locked(m, m.state == TxnState::prepare_commit, now);
    }
  }
}

std::optional<TxnMetadata> TxnCoordinator::find(const std::string& transactional_id) const {
  std::lock_guard lock(mu_);
  auto it = txns_.find(transactional_id);
  if (it == txns_.end()) return std::nullopt;
  return it->second;
}

std::size_t TxnCoordinator::size() const {
  std::lock_guard lock(mu_);
  return txns_.size();
}

}  // namespace nocopy::txn
