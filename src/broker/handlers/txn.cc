// Transaction family, served by the transaction coordinator (TxnService):
// AddPartitionsToTxn v0-v5 (v4+ the brokers' batched and verify-only
// form), AddOffsetsToTxn v0-v4, EndTxn v0-v5 (v5: transaction version 2),
// TxnOffsetCommit v0-v6 (v6: topics by id), DescribeTransactions v0, ListTransactions v0-v2;
// and WriteTxnMarkers v1-v2, which writes markers into this broker's
// partitions directly (Admin.abortTransaction ends a hanging transaction
// with it).
// InitProducerId with a transactional id is in produce.cc beside the
// idempotent one. Each request goes to the coordinator of its transactional
// id (TxnService::route: in cluster mode NOT_COORDINATOR or
// COORDINATOR_LOAD_IN_PROGRESS when it is not loaded here) through
// TxnService::run: on a single node inline on the reactor thread (EndTxn
// appends its markers, page-cache writes, before it answers); in cluster
// mode on the service's worker thread, since state changes wait for the
// ISR and markers go over the network, and the answer is posted back
// (EndTxn's once Prepare* is stored; the worker then writes the markers).
// TxnOffsetCommit goes to the group's coordinator instead (GroupsService).
//
// Authorization (Kafka's): WRITE on the transactional id for every
// producer call (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); AddPartitionsToTxn
// WRITE on each topic (denied topics TOPIC_AUTHORIZATION_FAILED, the others
// OPERATION_NOT_ATTEMPTED); AddOffsetsToTxn and TxnOffsetCommit READ on the
// group (GROUP_AUTHORIZATION_FAILED), TxnOffsetCommit READ on each topic;
// DescribeTransactions and ListTransactions DESCRIBE on each id;
// WriteTxnMarkers and AddPartitionsToTxn v4+ CLUSTER_ACTION on the cluster
// (CLUSTER_AUTHORIZATION_FAILED).
#include <algorithm>
#include <mutex>
#include <optional>
#include <regex>
#include <string>

#include "broker/group_topic_ids.h"
#include "broker/groups_service.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "broker/txn_service.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

using namespace handlers;
using security::AclOperation;

namespace {

// Every partition of `topics` answered `e`.
std::vector<kafka::AddPartitionsToTxnResponse::TopicResult> uniform_results(
    const std::vector<kafka::AddPartitionsToTxnRequest::Topic>& topics, ErrorCode e) {
  std::vector<kafka::AddPartitionsToTxnResponse::TopicResult> out;
  for (const auto& t : topics) {
    auto& rt = out.emplace_back();
    rt.name = t.name;
    for (std::int32_t p : t.partitions) rt.results.push_back({p, code(e)});
  }
  return out;
}

// Runs `make` where coordinator calls may block (TxnService::run) and
// answers `done` with its reply on `loop`'s thread.
void run_txn(TxnService& txn, net::EventLoop& loop, RequestHandler::Done& done, std::function<Reply()> make) {
  if (!txn.clustered()) return done(make());
  txn.run([&loop, d = std::move(done), make = std::move(make)]() mutable { post_reply(loop, std::move(d), make()); });
}

}  // namespace

// v4+ (brokers only): each transaction of the batch, at its coordinator,
// is added as a v3 request would add it, or -- verify_only -- each
// partition is checked against the ongoing transaction (NONE when it is in
// it, else the coordinator's reason; not in it: TRANSACTION_ABORTABLE from v5,
// INVALID_TXN_STATE in v4).
kafka::AddPartitionsToTxnResponse RequestHandler::add_partitions_batch(const kafka::AddPartitionsToTxnRequest& req,
                                                                      std::int16_t version) {
  kafka::AddPartitionsToTxnResponse r;
  for (const auto& t : req.transactions) {
    auto& rt = r.results_by_transaction.emplace_back();
    rt.transactional_id = t.transactional_id;
    const TxnService::Route route = txn_->route(t.transactional_id);
    if (!route.coordinator) {
      rt.topic_results = uniform_results(t.topics, route.error);
    } else if (t.verify_only) {
      for (const auto& topic : t.topics) {
        auto& tr = rt.topic_results.emplace_back();
        tr.name = topic.name;
        for (std::int32_t p : topic.partitions) {
          const ErrorCode e = route.coordinator->verify_partition(t.producer_id, t.producer_epoch, topic.name, p);
          tr.results.push_back({p, code(kafka::txn_error_for_version(e, version >= 5))});
        }
      }
    } else {
      kafka::AddPartitionsToTxnRequest one;
      one.transactional_id = t.transactional_id;
      one.producer_id = t.producer_id;
      one.producer_epoch = t.producer_epoch;
      one.topics = t.topics;
      rt.topic_results = std::move(route.coordinator->add_partitions(one, version, TxnService::wall_ms()).results);
    }
  }
  return r;
}

void RequestHandler::add_partitions_to_txn(const Header& h, const kafka::AddPartitionsToTxnRequest& req,
                                           net::EventLoop& loop, Done& done, const Access& access) {
  if (h.api_version >= 4) {
    kafka::AddPartitionsToTxnResponse r;
    if (!access.cluster(AclOperation::cluster_action)) r.error_code = code(ErrorCode::cluster_authorization_failed);
    if (!txn_) {
      for (const auto& t : req.transactions) {
        auto& rt = r.results_by_transaction.emplace_back();
        rt.transactional_id = t.transactional_id;
        rt.topic_results = uniform_results(t.topics, ErrorCode::coordinator_not_available);
      }
    }
    if (r.error_code != 0 || !txn_) return done(respond(encode(h, r)));
    // Checks only (a partition leader's produce verification) read the
    // coordinators' verification maps, which never wait: answered inline.
    const bool checks_only = std::all_of(req.transactions.begin(), req.transactions.end(),
                                         [](const auto& t) { return t.verify_only; });
    if (checks_only) return done(respond(encode(h, add_partitions_batch(req, h.api_version))));
    return run_txn(*txn_, loop, done,
                   [this, h, req] { return respond(encode(h, add_partitions_batch(req, h.api_version))); });
  }
  const bool id_ok = access.transactional_id(AclOperation::write, req.transactional_id);
  const bool topics_ok = std::all_of(req.topics.begin(), req.topics.end(),
                                     [&](const auto& t) { return access.topic(AclOperation::write, t.name); });
  if (!txn_ || !id_ok || !topics_ok) {
    kafka::AddPartitionsToTxnResponse r;
    for (const auto& t : req.topics) {
      auto& rt = r.results.emplace_back();
      rt.name = t.name;
      const ErrorCode e = !txn_    ? ErrorCode::coordinator_not_available
                          : !id_ok ? ErrorCode::transactional_id_authorization_failed
                          : !access.topic(AclOperation::write, t.name) ? ErrorCode::topic_authorization_failed
                                                                       : ErrorCode::operation_not_attempted;
      for (std::int32_t p : t.partitions) rt.results.push_back({p, code(e)});
    }
    return done(respond(encode(h, r)));
  }
  run_txn(*txn_, loop, done, [this, h, req] {
    const TxnService::Route route = txn_->route(req.transactional_id);
    if (!route.coordinator) {
      kafka::AddPartitionsToTxnResponse r;
      r.results = uniform_results(req.topics, route.error);
      return respond(encode(h, r));
    }
    return respond(encode(h, route.coordinator->add_partitions(req, h.api_version, TxnService::wall_ms())));
  });
}

void RequestHandler::add_offsets_to_txn(const Header& h, const kafka::AddOffsetsToTxnRequest& req,
                                        net::EventLoop& loop, Done& done, const Access& access) {
  const bool id_ok = access.transactional_id(AclOperation::write, req.transactional_id);
  const bool group_ok = access.group(AclOperation::read, req.group_id);
  if (!txn_ || !id_ok || !group_ok) {
    kafka::AddOffsetsToTxnResponse r;
    r.error_code = code(!txn_    ? ErrorCode::coordinator_not_available
                        : !id_ok ? ErrorCode::transactional_id_authorization_failed
                                 : ErrorCode::group_authorization_failed);
    return done(respond(encode(h, r)));
  }
  run_txn(*txn_, loop, done, [this, h, req] {
    const TxnService::Route route = txn_->route(req.transactional_id);
    if (!route.coordinator) {
      kafka::AddOffsetsToTxnResponse r;
      r.error_code = code(route.error);
      return respond(encode(h, r));
    }
    return respond(encode(h, route.coordinator->add_offsets(req, h.api_version, TxnService::wall_ms())));
  });
}

void RequestHandler::end_txn(const Header& h, const kafka::EndTxnRequest& req, net::EventLoop& loop, Done& done,
                             const Access& access) {
  const bool id_ok = access.transactional_id(AclOperation::write, req.transactional_id);
  if (!txn_ || !id_ok) {
    kafka::EndTxnResponse r;
    r.error_code = code(!txn_ ? ErrorCode::coordinator_not_available : ErrorCode::transactional_id_authorization_failed);
    return done(respond(encode(h, r)));
  }
  auto answer = [this, h, req](std::shared_ptr<txn::TxnCoordinator>& coordinator) {
    const TxnService::Route route = txn_->route(req.transactional_id);
    coordinator = route.coordinator;
    kafka::EndTxnResponse r;
    r.error_code = code(route.error);
    if (coordinator) r = coordinator->end_txn(req, h.api_version, TxnService::wall_ms());
    return respond(encode(h, r));
  };
  std::shared_ptr<txn::TxnCoordinator> coordinator;
  if (!txn_->clustered()) return done(answer(coordinator));
  // Cluster mode: answered once Prepare* is stored; the markers follow on the
  // worker thread, before any later request of this broker's coordinators.
  txn_->run([&loop, d = std::move(done), answer, id = req.transactional_id]() mutable {
    std::shared_ptr<txn::TxnCoordinator> c;
    post_reply(loop, std::move(d), answer(c));
    if (c) c->complete(id, TxnService::wall_ms());
  });
}

// Served by the group's coordinator (GroupsService::txn_offset_commit), as
// in Kafka. First the producer's transaction must hold the group's
// __consumer_offsets partition -- v5 (transaction version 2): added to it
// now (TxnService::add_to_txn); v0-v4: by AddOffsetsToTxn, asked of its transaction
// coordinator, here or (cluster mode) on another broker as a Produce's
// verification is (TxnService::verify_remote). A stale epoch is
// PRODUCER_FENCED (v2+; INVALID_PRODUCER_EPOCH before), a transaction
// without that partition TRANSACTION_ABORTABLE (v4+, KIP-890;
// INVALID_TXN_STATE before), a coordinator that cannot answer
// COORDINATOR_NOT_AVAILABLE (the client retries).
void RequestHandler::txn_offset_commit(const Header& h, const kafka::TxnOffsetCommitRequest& request,
                                       net::EventLoop& loop, Done& done, const Access& access) {
  // v6 names topics by id: named here, and the ids no topic has are left
  // out and answered UNKNOWN_TOPIC_ID whatever happens to the rest.
  kafka::TxnOffsetCommitRequest req = request;
  std::vector<kafka::TxnOffsetCommitRequest::Topic> unknown;
  if (h.api_version >= 6) unknown = group_topic_ids::resolve(req, topics_);
  auto reply = [h, unknown, this](kafka::TxnOffsetCommitResponse r) {
    if (h.api_version >= 6) group_topic_ids::finish(r, unknown, topics_);
    return respond(encode(h, r));
  };
  const bool id_ok = access.transactional_id(AclOperation::write, req.transactional_id);
  const bool group_ok = access.group(AclOperation::read, req.group_id);
  const bool topics_ok = std::all_of(req.topics.begin(), req.topics.end(),
                                     [&](const auto& t) { return access.topic(AclOperation::read, t.name); });
  auto failed = [req](auto error_of) {
    kafka::TxnOffsetCommitResponse r;
    for (const auto& t : req.topics) {
      auto& rt = r.topics.emplace_back();
      rt.name = t.name;
      const ErrorCode e = error_of(t.name);
      for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, code(e)});
    }
    return r;
  };
  auto uniform = [failed](ErrorCode e) { return failed([e](const std::string&) { return e; }); };
  if (!txn_ || !groups_ || !id_ok || !group_ok || !topics_ok) {
    return done(reply(failed([&](const std::string& topic) {
      return !txn_ || !groups_ ? ErrorCode::coordinator_not_available
             : !id_ok          ? ErrorCode::transactional_id_authorization_failed
             : !group_ok       ? ErrorCode::group_authorization_failed
             : !access.topic(AclOperation::read, topic) ? ErrorCode::topic_authorization_failed
                                                        : ErrorCode::operation_not_attempted;
    })));
  }
  const std::optional<std::int32_t> partition = groups_->partition_of(req.group_id);
  ErrorCode route = partition ? groups_->route_error(req.group_id) : ErrorCode::coordinator_not_available;
  if (route == ErrorCode::none && req.group_id.empty()) route = ErrorCode::invalid_group_id;
  if (route != ErrorCode::none) return done(reply(uniform(route)));
  // Posts the answer to the connection's loop (the verdict or the
  // replication of the offsets may complete on another thread).
  auto post = [reply, &loop, d = done](const kafka::TxnOffsetCommitResponse& r) { post_reply(loop, d, reply(r)); };
  auto on_verdict = [this, req, version = h.api_version, uniform, post](ErrorCode verdict) {
    if (verdict == ErrorCode::invalid_producer_epoch && version >= 2) verdict = ErrorCode::producer_fenced;
    if (verdict == ErrorCode::not_enough_replicas) verdict = ErrorCode::coordinator_not_available;
    verdict = kafka::txn_error_for_version(verdict, version >= 4);
    if (verdict != ErrorCode::none) return post(uniform(verdict));
    groups_->txn_offset_commit(req, version, post);
  };
  // v5 (transaction version 2): the group's partition is added to the
  // transaction here, at the transaction's coordinator, instead of checked.
  if (h.api_version >= 5) {
    return txn_->add_to_txn(req.transactional_id, req.producer_id, req.producer_epoch, {{kOffsetsTopic, *partition}},
                            [on_verdict](std::vector<ErrorCode> verdicts) {
                              on_verdict(verdicts.empty() ? ErrorCode::coordinator_not_available : verdicts.front());
                            });
  }
  if (!txn_->clustered() || txn_->coordinates(req.producer_id))
    return on_verdict(txn_->verify_partition(req.producer_id, req.producer_epoch, kOffsetsTopic, *partition));
  txn_->verify_remote(req.transactional_id, req.producer_id, req.producer_epoch, {{kOffsetsTopic, *partition}},
                      [on_verdict](std::vector<ErrorCode> verdicts) {
                        on_verdict(verdicts.empty() ? ErrorCode::coordinator_not_available : verdicts.front());
                      });
}

// Each id at its coordinator; an id of another broker's coordinator answers
// NOT_COORDINATOR (the admin client looks the coordinator up per id).
void RequestHandler::describe_transactions(const Header& h, const kafka::DescribeTransactionsRequest& req,
                                           net::EventLoop& loop, Done& done, const Access& access) {
  auto finish = [this, h, req, client = access.client()]() {
    const Access access = access_of(client);
    kafka::DescribeTransactionsResponse r;
    for (const auto& id : req.transactional_ids) {
      auto& s = r.transaction_states.emplace_back();
      s.transactional_id = id;
      s.producer_id = -1;
      s.producer_epoch = -1;
      s.transaction_start_time_ms = -1;
      if (!access.transactional_id(AclOperation::describe, id)) {
        s.error_code = code(ErrorCode::transactional_id_authorization_failed);
        continue;
      }
      const TxnService::Route route = txn_ ? txn_->route(id) : TxnService::Route{nullptr, ErrorCode::coordinator_not_available};
      if (!route.coordinator) {
        s.error_code = code(route.error);
        continue;
      }
      kafka::DescribeTransactionsRequest one;
      one.transactional_ids.push_back(id);
      auto answer = route.coordinator->describe(one);
      if (!answer.transaction_states.empty()) s = std::move(answer.transaction_states.front());
    }
    return respond(encode(h, r));
  };
  if (!txn_) return done(finish());
  run_txn(*txn_, loop, done, std::move(finish));
}

// Every coordinator loaded here (an admin client asks every broker).
void RequestHandler::list_transactions(const Header& h, const kafka::ListTransactionsRequest& req,
                                       net::EventLoop& loop, Done& done, const Access& access) {
  if (!txn_) {
    kafka::ListTransactionsResponse r;
    r.error_code = code(ErrorCode::coordinator_not_available);
    return done(respond(encode(h, r)));
  }
  // v2: the whole id must match the pattern (Java's Pattern.matches; the
  // ECMAScript grammar agrees on the common syntax); a pattern that does not
  // compile is INVALID_REGULAR_EXPRESSION.
  std::optional<std::regex> pattern;
  if (req.transactional_id_pattern && !req.transactional_id_pattern->empty()) {
    try {
      pattern.emplace(*req.transactional_id_pattern);
    } catch (const std::regex_error&) {
      kafka::ListTransactionsResponse r;
      r.error_code = code(ErrorCode::invalid_regular_expression);
      return done(respond(encode(h, r)));
    }
  }
  run_txn(*txn_, loop, done, [this, h, req, pattern = std::move(pattern), client = access.client()] {
    const Access access = access_of(client);
    kafka::ListTransactionsResponse r;
    for (const auto& c : txn_->coordinators()) {
      auto part = c->list(req, TxnService::wall_ms());
      r.unknown_state_filters = std::move(part.unknown_state_filters);
      for (auto& s : part.transaction_states) r.transaction_states.push_back(std::move(s));
    }
    std::erase_if(r.transaction_states, [&](const auto& s) {
      return (pattern && !std::regex_match(s.transactional_id, *pattern)) ||
             !access.transactional_id(AclOperation::describe, s.transactional_id);
    });
    return respond(encode(h, r));
  });
}

// Each partition gets its marker (Partition::append_marker: an epoch older
// than the partition knows is INVALID_PRODUCER_EPOCH, a coordinator epoch
// older than the last marker's TRANSACTION_COORDINATOR_FENCED); a partition
// this broker does not serve UNKNOWN_TOPIC_OR_PARTITION (or
// NOT_LEADER_OR_FOLLOWER in cluster mode). The internal topics take only
// their coordinators' records: INVALID_TOPIC_EXCEPTION. In cluster mode a
// marker is appended only by the unfenced leader, stamped with its leader
// epoch, and the answer waits until the high watermark has passed every
// marker (acks=all), as Kafka's coordinators expect; a leadership lost
// meanwhile answers that partition NOT_LEADER_OR_FOLLOWER.
void RequestHandler::write_txn_markers(const Header& h, const kafka::WriteTxnMarkersRequest& req,
                                       net::EventLoop& loop, Done& done, const Access& access) {
  struct Pending {
    std::mutex mu;
    kafka::WriteTxnMarkersResponse r;
    std::size_t left = 1;  // one for the loop below
  };
  auto st = std::make_shared<Pending>();
  auto finish = [st, h, &loop, d = done]() mutable {
    // Called with st->mu held, exactly once (left reached 0).
    post_reply(loop, std::move(d), respond(encode(h, st->r)));
  };
  const bool allowed = access.cluster(AclOperation::cluster_action);
  bool waited = false;
  std::unique_lock lock(st->mu);
  for (std::size_t mi = 0; mi < req.markers.size(); ++mi) {
    const auto& m = req.markers[mi];
    auto& rm = st->r.markers.emplace_back();
    rm.producer_id = m.producer_id;
    for (std::size_t ti = 0; ti < m.topics.size(); ++ti) {
      const auto& t = m.topics[ti];
      auto& rt = rm.topics.emplace_back();
      rt.name = t.name;
      const bool internal = t.name == kTxnStateTopic;
      const bool offsets = t.name == kOffsetsTopic;
      for (std::int32_t index : t.partition_indexes) {
        std::int16_t error = code(allowed ? ErrorCode::invalid_topic_exception : ErrorCode::cluster_authorization_failed);
        const std::size_t pi = rt.partitions.size();
        rt.partitions.push_back({index, error});
        if (!allowed || internal) continue;
        auto p = served(t.name, index, &error);
        std::optional<replication::ReplicaManager::View> view;
        if (p && replicas_ != nullptr) view = replicas_->view(t.name, index);
        std::int64_t offset = -1;
        if (p && view && (view->role != replication::Role::leader || view->fenced))
          error = code(ErrorCode::not_leader_or_follower);
        else if (p)
          error = p->append_marker(m.producer_id, m.producer_epoch, m.transaction_result, m.coordinator_epoch,
                                   view ? view->leader_epoch : -1, &offset);
        st->r.markers[mi].topics[ti].partitions[pi].error_code = error;
        // The group coordinator ends the producer's pending offsets there:
        // at once on a single node; in cluster mode once the marker is
        // replicated, on this connection's loop (a replication callback may
        // run where the groups' lock is held), before the answer is posted.
        const bool ends_offsets = offsets && groups_ != nullptr && p && error == 0;
        if (ends_offsets && !view) groups_->complete_txn(index, m.producer_id, m.transaction_result);
        auto end_offsets = [this, &loop, ends_offsets, index, pid = m.producer_id, commit = m.transaction_result] {
          if (ends_offsets) loop.post([this, index, pid, commit] { groups_->complete_txn(index, pid, commit); });
        };
        if (!p || error != 0 || !view) continue;
        // Only this thread adds to the answer (under st->mu); the waits
        // write their partition's slot under it too.
        replicas_->on_leader_append(t.name, index);
        ++st->left;
        waited = true;
        lock.unlock();
        auto on_hw = [st, mi, ti, pi, finish, end_offsets](std::int16_t e) mutable {
          if (!e) end_offsets();
          std::lock_guard l(st->mu);
          if (e) st->r.markers[mi].topics[ti].partitions[pi].error_code = e;
          if (--st->left == 0) finish();
        };
        replicas_->wait_for_high_watermark(t.name, index, offset, std::move(on_hw));
        lock.lock();
      }
    }
  }
  if (--st->left != 0) return;
  if (waited) return finish();
  lock.unlock();
  done(respond(encode(h, st->r)));
}

}  // namespace nocopy::broker
