// Transaction family, served by the transaction coordinator (TxnService):
// AddPartitionsToTxn v0-v5 (v4+ the brokers' batched and verify-only
// form), AddOffsetsToTxn v0-v3, EndTxn v0-v3,
// TxnOffsetCommit v0-v3, DescribeTransactions v0, ListTransactions v0-v1;
// and WriteTxnMarkers v0-v1, which writes markers into this broker's
// partitions directly (Admin.abortTransaction ends a hanging transaction
// with it).
// InitProducerId with a transactional id is in produce.cc beside the
// idempotent one. Every call runs on the reactor thread under the
// coordinator's mutex; EndTxn appends its markers (page-cache writes)
// before it answers.
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
#include <string>

#include "broker/groups_service.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "broker/txn_service.h"

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

}  // namespace

// v4+ (brokers only): each transaction of the batch is added as a v3 request
// would add it, or -- verify_only -- each partition is checked against the
// ongoing transaction (NONE when it is in it, else the coordinator's reason).
kafka::AddPartitionsToTxnResponse RequestHandler::add_partitions_batch(const kafka::AddPartitionsToTxnRequest& req,
                                                                       const Access& access) {
  kafka::AddPartitionsToTxnResponse r;
  if (!access.cluster(AclOperation::cluster_action)) {
    r.error_code = code(ErrorCode::cluster_authorization_failed);
    return r;
  }
  for (const auto& t : req.transactions) {
    auto& rt = r.results_by_transaction.emplace_back();
    rt.transactional_id = t.transactional_id;
    if (!txn_) {
      rt.topic_results = uniform_results(t.topics, ErrorCode::coordinator_not_available);
    } else if (t.verify_only) {
      for (const auto& topic : t.topics) {
        auto& tr = rt.topic_results.emplace_back();
        tr.name = topic.name;
        for (std::int32_t p : topic.partitions) {
          const ErrorCode e = txn_->coordinator().verify_partition(t.producer_id, t.producer_epoch, topic.name, p);
          tr.results.push_back({p, code(e)});
        }
      }
    } else {
      kafka::AddPartitionsToTxnRequest one;
      one.transactional_id = t.transactional_id;
      one.producer_id = t.producer_id;
      one.producer_epoch = t.producer_epoch;
      one.topics = t.topics;
      rt.topic_results = std::move(txn_->coordinator().add_partitions(one, 3, TxnService::wall_ms()).results);
    }
  }
  return r;
}

void RequestHandler::add_partitions_to_txn(const Header& h, const kafka::AddPartitionsToTxnRequest& req, Done& done,
                                           const Access& access) {
  if (h.api_version >= 4) return done(respond(encode(h, add_partitions_batch(req, access))));
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
  done(respond(encode(h, txn_->coordinator().add_partitions(req, h.api_version, TxnService::wall_ms()))));
}

void RequestHandler::add_offsets_to_txn(const Header& h, const kafka::AddOffsetsToTxnRequest& req, Done& done,
                                        const Access& access) {
  const bool id_ok = access.transactional_id(AclOperation::write, req.transactional_id);
  const bool group_ok = access.group(AclOperation::read, req.group_id);
  if (!txn_ || !id_ok || !group_ok) {
    kafka::AddOffsetsToTxnResponse r;
    r.error_code = code(!txn_    ? ErrorCode::coordinator_not_available
                        : !id_ok ? ErrorCode::transactional_id_authorization_failed
                                 : ErrorCode::group_authorization_failed);
    return done(respond(encode(h, r)));
  }
  done(respond(encode(h, txn_->coordinator().add_offsets(req, h.api_version, TxnService::wall_ms()))));
}

void RequestHandler::end_txn(const Header& h, const kafka::EndTxnRequest& req, Done& done, const Access& access) {
  const bool id_ok = access.transactional_id(AclOperation::write, req.transactional_id);
  if (!txn_ || !id_ok) {
    kafka::EndTxnResponse r;
    r.error_code = code(!txn_ ? ErrorCode::coordinator_not_available : ErrorCode::transactional_id_authorization_failed);
    return done(respond(encode(h, r)));
  }
  done(respond(encode(h, txn_->coordinator().end_txn(req, h.api_version, TxnService::wall_ms()))));
}

void RequestHandler::txn_offset_commit(const Header& h, const kafka::TxnOffsetCommitRequest& req, Done& done,
                                       const Access& access) {
  const bool id_ok = access.transactional_id(AclOperation::write, req.transactional_id);
  const bool group_ok = access.group(AclOperation::read, req.group_id);
  const bool topics_ok = std::all_of(req.topics.begin(), req.topics.end(),
                                     [&](const auto& t) { return access.topic(AclOperation::read, t.name); });
  if (!txn_ || !id_ok || !group_ok || !topics_ok) {
    kafka::TxnOffsetCommitResponse r;
    for (const auto& t : req.topics) {
      auto& rt = r.topics.emplace_back();
      rt.name = t.name;
      const ErrorCode e = !txn_       ? ErrorCode::coordinator_not_available
                          : !id_ok    ? ErrorCode::transactional_id_authorization_failed
                          : !group_ok ? ErrorCode::group_authorization_failed
                          : !access.topic(AclOperation::read, t.name) ? ErrorCode::topic_authorization_failed
                                                                      : ErrorCode::operation_not_attempted;
      for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, code(e)});
    }
    return done(respond(encode(h, r)));
  }
  done(respond(encode(h, txn_->coordinator().txn_offset_commit(req, h.api_version))));
}

void RequestHandler::describe_transactions(const Header& h, const kafka::DescribeTransactionsRequest& req,
                                           Done& done, const Access& access) {
  kafka::DescribeTransactionsResponse r;
  if (txn_) {
    r = txn_->coordinator().describe(req);
  } else {
    for (const auto& id : req.transactional_ids) {
      auto& s = r.transaction_states.emplace_back();
      s.transactional_id = id;
      s.error_code = code(ErrorCode::coordinator_not_available);
    }
  }
  for (auto& s : r.transaction_states) {
    if (access.transactional_id(AclOperation::describe, s.transactional_id)) continue;
    kafka::DescribeTransactionsResponse::TransactionState denied;
    denied.transactional_id = std::move(s.transactional_id);
    denied.error_code = code(ErrorCode::transactional_id_authorization_failed);
    s = std::move(denied);
  }
  done(respond(encode(h, r)));
}

void RequestHandler::list_transactions(const Header& h, const kafka::ListTransactionsRequest& req, Done& done,
                                       const Access& access) {
  kafka::ListTransactionsResponse r;
  if (txn_) r = txn_->coordinator().list(req, TxnService::wall_ms());
  else r.error_code = code(ErrorCode::coordinator_not_available);
  std::erase_if(r.transaction_states,
                [&](const auto& s) { return !access.transactional_id(AclOperation::describe, s.transactional_id); });
  done(respond(encode(h, r)));
}

// Each partition gets its marker (Partition::append_marker: an epoch older
// than the partition knows is INVALID_PRODUCER_EPOCH); a partition this
// broker does not serve UNKNOWN_TOPIC_OR_PARTITION (or NOT_LEADER_OR_FOLLOWER
// in cluster mode). The internal topics take only their coordinators'
// records: INVALID_TOPIC_EXCEPTION.
void RequestHandler::write_txn_markers(const Header& h, const kafka::WriteTxnMarkersRequest& req, Done& done,
                                       const Access& access) {
  kafka::WriteTxnMarkersResponse r;
  const bool allowed = access.cluster(AclOperation::cluster_action);
  for (const auto& m : req.markers) {
    auto& rm = r.markers.emplace_back();
    rm.producer_id = m.producer_id;
    for (const auto& t : m.topics) {
      auto& rt = rm.topics.emplace_back();
      rt.name = t.name;
      const bool internal = t.name == kOffsetsTopic || t.name == kTxnStateTopic;
      for (std::int32_t index : t.partition_indexes) {
        std::int16_t error = code(allowed ? ErrorCode::invalid_topic_exception : ErrorCode::cluster_authorization_failed);
        if (allowed && !internal) {
          if (auto p = served(t.name, index, &error))
            error = p->append_marker(m.producer_id, m.producer_epoch, m.transaction_result, m.coordinator_epoch);
        }
        rt.partitions.push_back({index, error});
      }
    }
  }
  done(respond(encode(h, r)));
}

}  // namespace nocopy::broker
