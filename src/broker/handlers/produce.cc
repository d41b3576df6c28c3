// Produce v3-v13 (v0-v2 are advertised and answered UNSUPPORTED_VERSION per
// partition: they predate record batch v2) and InitProducerId v0-v5
// (transactional ids: TxnService). v8+: an INVALID_RECORD or CORRUPT_MESSAGE
// answer says why in error_message; records refused one by one (a record
// without a key in a compacted topic, a timestamp out of range:
// RecordValidator) are listed in record_errors. v10+: a
// NOT_LEADER_OR_FOLLOWER answer names the current leader and epoch and the
// answer lists its endpoint (KIP-951). v13+ names topics by id: an id no topic has is
// UNKNOWN_TOPIC_ID.
//
// Record batches stay views into the request frame; the log patches their
// baseOffset in place. acks=-1 under a syncing flush policy waits for the
// partitions' flushed offsets (ProduceWait): the log's flusher notifies, we
// never sync here. In cluster mode only the partition's leader appends
// (NOT_LEADER_OR_FOLLOWER elsewhere, on a leader fenced by a lost etcd
// session, and on a broker shutting down), stamping its leader epoch; acks=-1
// needs an ISR of min.insync.replicas (NOT_ENOUGH_REPLICAS) and is parked,
// like a flush wait, until the high watermark passes the batch
// (replication::ReplicaManager) or the request's timeout (REQUEST_TIMED_OUT).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "broker/groups_service.h"
#include "broker/handlers/reply.h"
#include "broker/record_validator.h"
#include "broker/request_handler.h"
#include "broker/txn_service.h"
#include "cluster/cluster_node.h"
#include "io/file.h"
#include "kafka/topic_name.h"
#include "log/record_batch.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

using namespace handlers;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One thing a partition's acks=-1 answer waits for: its flush, or (cluster
// mode) its replication to the ISR. A partition may have both entries.
struct FlushWaitEntry {
  std::shared_ptr<Partition> part;
  std::int64_t last = 0;
  replication::ReplicaManager* replicas = nullptr;  // non-null: wait for the high watermark instead
  std::size_t topic = 0;      // index in ProduceResponse::responses
  std::size_t partition = 0;  // index in that topic's partitions
};

// An acks=-1 produce waiting for its partitions' flushes, on one loop.
struct ProduceWait {
  kafka::ProduceResponse res;
  RequestHandler::Done done;
  kafka::RequestHeader h;
  net::EventLoop* loop = nullptr;
  Metrics* metrics = nullptr;
  net::EventLoop::TimerId timer = 0;
  std::vector<std::pair<std::size_t, std::size_t>> slots;  // entry -> (topic, partition) in res
  std::vector<bool> completed;
  std::size_t left = 0;
  bool answered = false;

  kafka::ProduceResponse::PartitionResponse& slot(std::size_t i) {
    return res.responses[slots[i].first].partitions[slots[i].second];
  }
  void flushed(std::size_t i, std::int16_t error) {
    if (answered || completed[i]) return;
    completed[i] = true;
    if (error != code(ErrorCode::none)) {
      slot(i).error_code = error;
      slot(i).base_offset = -1;
      slot(i).log_append_time_ms = -1;
      metrics->on_produce_error();
    }
    if (--left == 0) {
      loop->cancel(timer);
      answer();
    }
  }
  void expire() {
    if (answered) return;
    for (std::size_t i = 0; i < completed.size(); ++i) {
      if (completed[i]) continue;
      slot(i).error_code = code(ErrorCode::request_timed_out);
      metrics->on_produce_error();
    }
    answer();
  }
  void answer() {
    answered = true;
    metrics->produce_waiting(-1);
    auto d = std::move(done);
    d(respond(encode(h, res)));
  }

  // acks=-1 with a syncing policy: answers once every partition's flushed
  // offset passed what was appended -- or at the request's timeout_ms, with
  // REQUEST_TIMED_OUT for the partitions still waiting (the data stays
  // appended, as in Kafka). A failed flush answers KAFKA_STORAGE_ERROR.
  // Flush callbacks and the timer all run on `loop`, so no lock is needed.
  static void start(const kafka::RequestHeader& h, kafka::ProduceResponse res, const std::vector<FlushWaitEntry>& to_flush,
                    std::int32_t timeout_ms, net::EventLoop& loop, Metrics& metrics, RequestHandler::Done done) {
    auto wait = std::make_shared<ProduceWait>();
    wait->res = std::move(res);
    wait->done = std::move(done);
    wait->h = h;
    wait->loop = &loop;
    wait->metrics = &metrics;
    wait->left = to_flush.size();
    wait->completed.assign(to_flush.size(), false);
    wait->slots.reserve(to_flush.size());
    for (auto& e : to_flush) wait->slots.emplace_back(e.topic, e.partition);
    metrics.produce_waiting(1);
    wait->timer =
        loop.run_after(std::chrono::milliseconds(std::max<std::int32_t>(timeout_ms, 0)), [wait] { wait->expire(); });
    for (std::size_t i = 0; i < to_flush.size(); ++i) {
      const FlushWaitEntry& e = to_flush[i];
      if (e.replicas == nullptr) {
        e.part->on_flushed(e.last, &loop, [wait, i](std::int16_t error) { wait->flushed(i, error); });
        continue;
      }
      // Completed by whichever thread moves the high watermark: back to our loop.
      net::EventLoop* l = &loop;
      e.replicas->wait_for_high_watermark(e.part->topic(), e.part->index(), e.last, [wait, i, l](std::int16_t error) {
        l->post([wait, i, error] { wait->flushed(i, error); });
      });
    }
  }
};

// The request-wide facts each partition's append needs.
struct ProduceScope {
  std::int16_t version = 0;
  std::int16_t acks = 0;
  std::span<std::byte> frame;  // the writable request frame the records view
  TopicRegistry& topics;
  Metrics& metrics;
  const RequestHandler& handler;
  TxnService* txn;  // null: transactional batches are not verified
  replication::ReplicaManager* replicas;  // null: single node
  // The broker is shutting down: a replicated partition takes no more
  // writes, so that none is appended that it can no longer replicate and no
  // client's sequence runs past what the next leader has.
  bool draining = false;
  // This broker's etcd session may have expired: another broker may lead
  // its partitions in a newer epoch, which it has not heard of yet.
  bool session_lost = false;
  // Verdicts of other brokers' coordinators, by partition (null: none).
  const RequestHandler::Verdicts* verified = nullptr;
};

// Checks one partition's records and appends them, filling in `pr`. Adds
// what its answer waits for to `waits` with slot (ti, pi): acks=-1 waits for
// the flush under a syncing policy and, in cluster mode, for the high
// watermark.
void append_partition(const ProduceScope& s, const std::string& topic, const Config& tcfg,
                      kafka::ProduceRequest::PartitionData& p, kafka::ProduceResponse::PartitionResponse& pr,
                      std::vector<FlushWaitEntry>& waits, std::size_t ti, std::size_t pi) {
  auto fail = [&](ErrorCode e) { pr.error_code = code(e); };
  pr.index = p.index;
  pr.log_start_offset = 0;
  if (s.version < 3) return fail(ErrorCode::unsupported_version);
  if (s.acks != 0 && s.acks != 1 && s.acks != -1) return fail(ErrorCode::invalid_required_acks);
  if (!kafka::is_valid_topic_name(topic) || topic == kOffsetsTopic || topic == kTxnStateTopic)
    return fail(ErrorCode::invalid_topic_exception);
  auto part = s.handler.served(topic, pr.index, &pr.error_code);
  if (!part) return;
  pr.log_start_offset = part->log_start_offset();
  const auto records = p.records.bytes;
  if (p.records.is_null || records.empty()) {
    if (s.version >= 8) pr.error_message = "no record batch for the partition";
    return fail(ErrorCode::invalid_record);
  }
  // A transactional batch must belong to its producer's ongoing transaction
  // with this partition added, as the coordinator here that knows the
  // producer says (cluster mode: a producer coordinated by another broker is
  // not verified, TxnService::verify_partition). Outside it: INVALID_TXN_STATE
  // (v8+ with Kafka's message), TRANSACTION_ABORTABLE from v11 (KIP-890).
  if (s.txn && records.size() >= log::kBatchHeaderSize) {
    const log::BatchHeader bh = log::parse_batch_header(records);
    if (bh.is_transactional() && !bh.is_control() && bh.producer_id >= 0) {
      const auto v = s.verified ? s.verified->find({topic, pr.index}) : RequestHandler::Verdicts::const_iterator{};
      const auto e = s.verified && v != s.verified->end()
                         ? v->second
                         : s.txn->verify_partition(bh.producer_id, bh.producer_epoch, topic, pr.index);
      if (e != ErrorCode::none) {
        const ErrorCode answer = kafka::txn_error_for_version(e, s.version >= 11);
        if (s.version >= 8 && answer == ErrorCode::invalid_txn_state)
          pr.error_message = "Partition was not added to the transaction";
        return fail(answer);
      }
    }
  }
  std::optional<replication::ReplicaManager::View> view;
  if (s.replicas != nullptr) view = s.replicas->view(topic, pr.index);
  if (view && (view->role != replication::Role::leader || view->fenced || s.draining))
    return fail(ErrorCode::not_leader_or_follower);
  if (view && s.acks == -1 && view->isr_size < static_cast<std::size_t>(std::max(tcfg.min_insync_replicas, 1)))
    return fail(ErrorCode::not_enough_replicas);
  // Kafka's per-record checks: a record without a key in a compacted topic,
  // a timestamp out of range (CreateTime only: under LogAppendTime the log
  // stamps the batch); v8+ lists each refused record.
  const RecordRules rules{tcfg.compacts(), !tcfg.log_append_time(), tcfg.message_timestamp_before_max_ms,
                          tcfg.message_timestamp_after_max_ms};
  if (auto rv = validate_records(records, topic, pr.index, rules, now_ms()); rv.error != ErrorCode::none) {
    if (s.version >= 8) {
      pr.error_message = std::move(rv.message);
      for (auto& e : rv.errors) pr.record_errors.push_back({e.batch_index, std::move(e.message)});
    }
    return fail(rv.error);
  }
  // The records are a view into the (writable) request frame: patch in place.
  auto mut = s.frame.subspan(static_cast<std::size_t>(records.data() - s.frame.data()), records.size());
  const bool will_wait = s.acks == -1 && tcfg.flush != FlushMode::never;
  auto ar = part->append(mut, will_wait, view ? view->leader_epoch : -1);
  pr.error_code = ar.error;
  if (s.version >= 8 && !ar.message.empty()) pr.error_message = ar.message;
  // A sequence that does not follow this leader's, on a leader that may have
  // been replaced, most likely went on at the new leader: answer as a former
  // leader (retriable), not with the sequence error librdkafka treats as
  // fatal. Nothing was appended either way.
  if (view && s.session_lost && ar.error == code(ErrorCode::out_of_order_sequence_number))
    pr.error_code = code(ErrorCode::not_leader_or_follower);
  if (ar.error != code(ErrorCode::none)) return;
  pr.base_offset = ar.base_offset;
  pr.log_append_time_ms = ar.log_append_time;
  s.metrics.on_produce(mut.size());
  if (view) s.replicas->on_leader_append(topic, pr.index);
  if (will_wait) waits.push_back({part, ar.last_offset, nullptr, ti, pi});
  if (view && s.acks == -1) waits.push_back({part, ar.last_offset, s.replicas, ti, pi});
}

// v10+: a partition answered NOT_LEADER_OR_FOLLOWER names its leader, and
// the answer lists that leader's endpoint once (KIP-951).
void add_leader_hints(const RequestHandler& handler, std::int16_t version, kafka::ProduceResponse& res) {
  if (version < 10) return;
  for (auto& t : res.responses)
    for (auto& p : t.partitions) {
      if (p.error_code != code(ErrorCode::not_leader_or_follower)) continue;
      const auto h = handler.leader_hint(t.name, p.index);
      if (h.leader < 0) continue;
      p.current_leader = {h.leader, h.epoch};
      if (h.port != 0 && std::ranges::none_of(res.node_endpoints, [&](const auto& e) { return e.node_id == h.leader; }))
        res.node_endpoints.push_back({h.leader, h.host, h.port, h.rack});
    }
}

void count_errors(const kafka::ProduceResponse& res, Metrics& metrics) {
  for (auto& t : res.responses)
    for (auto& p : t.partitions)
      if (p.error_code) {
        metrics.on_produce_error();
        spdlog::debug("produce {}-{}: error {}", t.name, p.index, p.error_code);
      }
}

}  // namespace

// Authorization: a transactional producer needs WRITE on its transactional
// id (else every partition is TRANSACTIONAL_ID_AUTHORIZATION_FAILED), and
// each topic WRITE (else its partitions are TOPIC_AUTHORIZATION_FAILED).
void RequestHandler::produce(const Header& h, kafka::ProduceRequest& req, std::span<std::byte> frame,
                             net::EventLoop& loop, Done& done, const Access& access, const Verdicts* verified) {
  using security::AclOperation;
  if (verified == nullptr && verify_then_produce(h, req, frame, loop, done, access)) return;
  const bool txn_ok =
      !req.transactional_id || access.transactional_id(AclOperation::write, *req.transactional_id);
  const ProduceScope scope{h.api_version, req.acks, frame, topics_, metrics_, *this, txn_, replicas_,
                           draining_.load(std::memory_order_relaxed),
                           cluster_ != nullptr && !cluster_->session_current(), verified};
  kafka::ProduceResponse res;
  // acks=-1: what each partition's answer waits for (flush, high watermark).
  std::vector<FlushWaitEntry> to_flush;
  res.responses.reserve(req.topics.size());
  for (auto& t : req.topics) {
    auto& tr = res.responses.emplace_back();
    tr.topic_id = t.topic_id;
    std::int16_t unknown = 0;
    if (h.api_version >= 13) {
      auto known = topics_.find_id(t.topic_id);
      if (known) tr.name = known->name;
      else unknown = code(ErrorCode::unknown_topic_id);
    } else {
      tr.name = std::move(t.name);
    }
    tr.partitions.reserve(t.partitions.size());
    if (unknown) {
      for (auto& p : t.partitions) tr.partitions.push_back({.index = p.index, .error_code = unknown});
      continue;
    }
    // The topic's own flush policy (its override); its max.message.bytes is
    // the partition's log's to check.
    const auto tcfg = topics_.config_of(tr.name);
    const bool topic_ok = access.topic(AclOperation::write, tr.name);
    for (auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      if (!txn_ok || !topic_ok) {
        pr.index = p.index;
        pr.error_code = code(!txn_ok ? ErrorCode::transactional_id_authorization_failed
                                     : ErrorCode::topic_authorization_failed);
        continue;
      }
      append_partition(scope, tr.name, *tcfg, p, pr, to_flush, res.responses.size() - 1, tr.partitions.size() - 1);
    }
  }
  if (drop_produce_every_ && (produce_count_.fetch_add(1) + 1) % drop_produce_every_ == 0) {
    spdlog::warn("fault injection: produce appended, response dropped (connection closed)");
    return done(close_reply("fault injection: dropped produce response"));
  }
  add_leader_hints(*this, h.api_version, res);
  count_errors(res, metrics_);

  if (req.acks == 0) {
    Reply none;
    none.kind = Reply::Kind::none;
    return done(std::move(none));
  }
  if (to_flush.empty()) return done(respond(encode(h, res)));
  ProduceWait::start(h, std::move(res), to_flush, req.timeout_ms, loop, metrics_, std::move(done));
}

// KIP-890: a transactional batch that would open its producer's
// transaction in a partition (its producer has no transaction open there at
// that epoch) is appended only once the transaction's coordinator has a
// say. Transaction version 2 (Produce v12+ while the broker finalizes
// transaction.version 2): the coordinator adds the partition to the
// transaction (TxnService::add_to_txn; on a single node inline, before the
// append). Otherwise, in cluster mode, a producer whose coordinator is
// another broker is checked there (AddPartitionsToTxn v5 verify_only,
// TxnVerifier); one coordinated here is checked by append_partition. Batches
// that continue a transaction already open in the partition need neither.
// Asynchronous cases copy the request frame (it must outlive this call) and
// decode it again when the verdicts are in; only the first batch of each
// partition of a transaction pays this. While a producer has a request
// waiting, its later requests wait behind it (through the same queue, in
// order), so none of its batches is appended ahead of an earlier one.
bool RequestHandler::verify_then_produce(const Header& h, kafka::ProduceRequest& req, std::span<std::byte> frame,
                                         net::EventLoop& loop, Done& done, const Access& access) {
  if (!txn_ || !req.transactional_id || req.acks == 0) return false;
  const bool adds = h.api_version >= 12 && cfg_.transaction_version >= 2;
  if (!adds && !txn_->clustered()) return false;
  std::vector<txn::TopicPartition> need;
  std::int64_t pid = -1;
  std::int16_t epoch = -1;
  for (const auto& t : req.topics) {
    std::string name = t.name;
    if (h.api_version >= 13) {  // named by topic id
      auto known = topics_.find_id(t.topic_id);
      if (!known) continue;
      name = known->name;
    }
    for (const auto& p : t.partitions) {
      const auto records = p.records.bytes;
      if (p.records.is_null || records.size() < log::kBatchHeaderSize) continue;
      const log::BatchHeader bh = log::parse_batch_header(records);
      if (!bh.is_transactional() || bh.is_control() || bh.producer_id < 0) continue;
      if (pid < 0) {
        if (!adds && txn_->coordinates(bh.producer_id)) return false;  // verified here, by its own coordinator
        pid = bh.producer_id;
        epoch = bh.producer_epoch;
      }
      if (bh.producer_id != pid || bh.producer_epoch != epoch) continue;  // one producer per request
      auto part = topics_.find(name, p.index);
      if (part && !part->in_transaction(pid, epoch)) need.push_back({name, p.index});
    }
  }
  if (pid < 0) return false;
  auto verdicts_of = [](const std::vector<txn::TopicPartition>& asked, const std::vector<ErrorCode>& errors) {
    Verdicts v;
    for (std::size_t i = 0; i < asked.size() && i < errors.size(); ++i) v[{asked[i].topic, asked[i].partition}] = errors[i];
    return v;
  };
  if (!txn_->clustered()) {  // transaction version 2 on a single node: added inline
    if (need.empty()) return false;
    Verdicts verdicts;
    txn_->add_to_txn(*req.transactional_id, pid, epoch, need,
                     [&](std::vector<ErrorCode> errors) { verdicts = verdicts_of(need, errors); });
    produce(h, req, frame, loop, done, access, &verdicts);
    return true;
  }
  {
    std::lock_guard lock(verifying_mu_);
    if (need.empty() && !verifying_.contains(pid)) return false;
    ++verifying_[pid];
  }
  auto copy = std::make_shared<std::vector<std::byte>>(frame.begin(), frame.end());
  auto finish = [this, h, copy, &loop, d = std::move(done), client = access.client(), need, pid,
                 verdicts_of](std::vector<ErrorCode> errors) mutable {
    loop.post([this, h, copy, &loop, d = std::move(d), client, need, errors, pid, verdicts_of]() mutable {
      {
        std::lock_guard lock(verifying_mu_);
        if (--verifying_[pid] == 0) verifying_.erase(pid);
      }
      kafka::DecodedRequest again = kafka::decode_request(std::span<std::byte>(*copy));
      auto* body = std::get_if<kafka::ProduceRequest>(&again.body);
      if (body == nullptr) return d(close_reply("produce request not decodable again"));
      Verdicts verdicts = verdicts_of(need, errors);
      produce(h, *body, std::span<std::byte>(*copy), loop, d, access_of(client), &verdicts);
    });
  };
  if (adds) txn_->add_to_txn(*req.transactional_id, pid, epoch, std::move(need), std::move(finish));
  else txn_->verify_remote(*req.transactional_id, pid, epoch, std::move(need), std::move(finish));
  return true;
}

// ------------------------------------------------------------ InitProducerId

ProducerIdAllocator& RequestHandler::producer_ids() {
  std::call_once(pids_once_, [this] {
    if (cluster_) {
      // Producer ids must be unique across the cluster: a producer whose
      // partitions move to another broker keeps its id there.
      pids_ = std::make_unique<ProducerIdAllocator>(
          [node = cluster_](std::int64_t n) { return node->reserve_producer_ids(n); });
      return;
    }
    const auto path = cfg_.data_dir / "producer_ids";
    std::int64_t next = 0;
    if (std::ifstream in(path); in) in >> next;
    pids_ = std::make_unique<ProducerIdAllocator>(std::max<std::int64_t>(next, 0), [path](std::int64_t until) {
      // Durable before any id of the new block is handed out: temp file,
      // fsync, rename. Once per 1000 ids, so its cost on a reactor is rare.
      const auto tmp = path.string() + ".tmp";
      io::File f = io::File::open(tmp, io::File::Mode::truncate_rw);
      const std::string text = std::to_string(until) + "\n";
      if (auto w = f.pwrite_full(std::as_bytes(std::span(text.data(), text.size())), 0); !w)
        throw std::runtime_error(w.error().message());
      if (auto d = f.fdatasync(); !d) throw std::runtime_error(d.error().message());
      std::filesystem::rename(tmp, path);
    });
  });
  return *pids_;
}

// A transactional id goes to the transaction coordinator (epoch bump,
// fencing); without one this is a fresh idempotent producer id.
// Authorization: WRITE on the transactional id; an idempotent producer
// needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (Kafka 3's
// rule).
void RequestHandler::init_producer_id(const Header& h, const kafka::InitProducerIdRequest& req, net::EventLoop& loop,
                                      Done& done, const Access& access) {
  using security::AclOperation;
  const bool allowed = req.transactional_id
                           ? access.transactional_id(AclOperation::write, *req.transactional_id)
                           : access.cluster(AclOperation::idempotent_write) ||
                                 access.any(AclOperation::write, security::ResourceType::topic);
  if (!allowed) {
    kafka::InitProducerIdResponse r;
    r.error_code = code(req.transactional_id ? ErrorCode::transactional_id_authorization_failed
                                             : ErrorCode::cluster_authorization_failed);
    return done(respond(encode(h, r)));
  }
  if (req.transactional_id.has_value()) {
    if (!txn_) {
      kafka::InitProducerIdResponse r;
      r.error_code = code(ErrorCode::coordinator_not_available);
      return done(respond(encode(h, r)));
    }
    auto call = [this, h, req]() {
      const TxnService::Route route = txn_->route(*req.transactional_id);
      if (!route.coordinator) {
        kafka::InitProducerIdResponse r;
        r.error_code = code(route.error);
        r.producer_id = -1;
        r.producer_epoch = -1;
        return respond(encode(h, r));
      }
      return respond(encode(h, route.coordinator->init_producer_id(req, h.api_version, TxnService::wall_ms())));
    };
    if (!txn_->clustered()) return done(call());
    // Cluster mode: the coordinator's state changes wait for its ISR.
    return txn_->run([&loop, d = std::move(done), call]() mutable { post_reply(loop, std::move(d), call()); });
  }
  done(respond(encode(h, producer_ids().init_producer_id(req))));
}

}  // namespace nocopy::broker
